-- Business (warn): journals of business days the location has not closed yet (its local clock
-- has not passed closeoutHour on the next day plus the settle delay); held until a later
-- build. Expected for the current day.
{{ config(severity='warn') }}

select
    journal_id,
    closes_at,
    time_zone,
    closeout_hour,
    evaluated_at
from {{ ref('journals') }}
where not coalesce(is_day_closed, false)
