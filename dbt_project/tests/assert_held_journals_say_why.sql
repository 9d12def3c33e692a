-- Structural: journals.status agrees with what holds a journal. A ready journal has no
-- unmapped line, no over/short above tolerance, no open check (when open checks hold and
-- the open_check_grace_days have not passed), and its day is closed; a held journal has at
-- least one reason.
{{ config(severity='error') }}

with

journals as (
    select * from {{ ref('journals') }}
),

settings as (
    select * from {{ ref('int_settings_resolved') }}
)

select
    journals.journal_id,
    journals.status,
    journals.unmapped_line_count,
    journals.over_short_amount,
    journals.over_short_tolerance,
    journals.open_check_count,
    journals.open_checks_post_at,
    journals.is_day_closed,
    journals.hold_reasons
from journals
left join settings
    on journals.restaurant_guid = settings.restaurant_guid
where (journals.status = 'ready' and (
        journals.unmapped_line_count > 0
        or abs(journals.over_short_amount) > journals.over_short_tolerance
        or (
            coalesce(settings.hold_open_checks, true)
            and journals.open_check_count > 0
            and coalesce(journals.evaluated_at < journals.open_checks_post_at, true)
        )
        or not coalesce(journals.is_day_closed, false)
        or journals.total_debit <> journals.total_credit))
   or (journals.status = 'held' and len(journals.hold_reason_list) = 0)
   or journals.status not in ('ready', 'held')
