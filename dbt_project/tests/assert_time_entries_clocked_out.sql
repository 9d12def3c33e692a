-- Business (warn): time entries still clocked in (no outDate) on a business date: they are not
-- costed (reported, not guessed) and hold that day's labor journal. Toast clocks everyone out
-- at closeoutHour, so one here usually needs a look in Toast.
{{ config(severity='warn') }}

select
    restaurant_guid,
    business_date,
    time_entry_guid,
    job_guid,
    employee_guid,
    in_at
from {{ ref('int_time_entries_costed') }}
where cost_status = 'open'
