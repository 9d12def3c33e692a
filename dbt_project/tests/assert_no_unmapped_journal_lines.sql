-- Business (warn): journals held because a line's account or revenue center dimension is not
-- mapped. Each row names the journal, the line and the seed row to add; journals.status holds
-- only these journals. `closeout mappings` lists the same by source.
{{ config(severity='warn') }}

select
    journal_id,
    line_number,
    line_kind,
    description,
    debit,
    credit,
    unmapped_reason,
    seed_file,
    suggested_row
from {{ ref('journal_lines') }}
where not is_mapped
