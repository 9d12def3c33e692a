-- Structural: every journal line is on exactly one side, with a positive amount: debit and
-- credit are never both set, never both zero, never negative, never null.
{{ config(severity='error') }}

select
    journal_line_id,
    journal_id,
    line_kind,
    account_code,
    debit,
    credit
from {{ ref('journal_lines') }}
where debit is null
   or credit is null
   or debit < 0
   or credit < 0
   or (debit <> 0 and credit <> 0)
   or (debit = 0 and credit = 0)
