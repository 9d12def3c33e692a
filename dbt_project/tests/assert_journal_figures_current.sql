-- Structural: journals (and sales_summary) take each journal's totals and version from
-- int_journal_figures, which sums the journals journal_lines queued as rebuilt. A queue left
-- after journals was built means they were built from older figures (a selection with journals
-- but not int_journal_figures): the build fails, so nothing posts from them, and names the fix.
-- depends_on: {{ ref('journals') }}
{{ config(severity='error') }}

select
    coalesce(journal_type, 'every journal') as journal_type,
    restaurant_guid,
    business_date,
    'journals were built before int_journal_figures summed these lines: run `closeout build` '
        || '(or a selection that includes int_journal_figures)' as fix
from {{ finance_figures_queue_relation() }}
