-- Structural: a line that says it is mapped, and every line of a ready journal, posts to an
-- active account of seeds/chart_of_accounts.csv. (Lines that are not mapped hold their journal
-- and are reported by assert_no_unmapped_journal_lines and unmapped_sources.)
{{ config(severity='error') }}

with

lines as (
    select * from {{ ref('journal_lines') }}
),

journals as (
    select * from {{ ref('journals') }}
),

chart_of_accounts as (
    select * from {{ ref('chart_of_accounts') }}
),

final as (
    select
        lines.journal_line_id,
        lines.journal_id,
        journals.status,
        lines.is_mapped,
        lines.account_code,
        chart_of_accounts.is_active as account_is_active,
        lines.description
    from lines
    inner join journals
        on lines.journal_id = journals.journal_id
    left join chart_of_accounts
        on lines.account_code = chart_of_accounts.account_code
    where (lines.is_mapped or journals.status = 'ready')
      and (chart_of_accounts.account_code is null or not chart_of_accounts.is_active)
)

select * from final
