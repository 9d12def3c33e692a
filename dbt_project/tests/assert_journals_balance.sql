-- Structural: every journal balances to the cent (Σ debit = Σ credit), in journal_lines and in
-- journals. A failure lists the journal and by how much it is out.
{{ config(severity='error') }}

with

lines as (
    select
        journal_id,
        sum(debit) as total_debit,
        sum(credit) as total_credit
    from {{ ref('journal_lines') }}
    group by journal_id
),

journals as (
    select journal_id, total_debit, total_credit
    from {{ ref('journals') }}
),

final as (
    select
        coalesce(lines.journal_id, journals.journal_id) as journal_id,
        lines.total_debit as line_debits,
        lines.total_credit as line_credits,
        journals.total_debit as journal_debits,
        journals.total_credit as journal_credits,
        coalesce(lines.total_debit, 0) - coalesce(lines.total_credit, 0) as out_of_balance_by
    from lines
    full outer join journals
        on lines.journal_id = journals.journal_id
    where lines.journal_id is null
       or journals.journal_id is null
       or lines.total_debit <> lines.total_credit
       or journals.total_debit <> journals.total_credit
       or lines.total_debit <> journals.total_debit
)

select * from final
