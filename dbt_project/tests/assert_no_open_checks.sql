-- Business (warn): journals of days with checks still open (unpaid). With settings
-- hold_open_checks = true they are held until the checks are paid or voided.
{{ config(severity='warn') }}

select
    journal_id,
    open_check_count,
    open_check_amount,
    status,
    hold_reasons
from {{ ref('journals') }}
where open_check_count > 0
