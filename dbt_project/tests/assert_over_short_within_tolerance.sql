-- Business (warn): journals whose over/short (what still separated debits from credits) is
-- above the location's tolerance (seeds/settings.csv); they are held, not posted.
{{ config(severity='warn') }}

select
    journal_id,
    over_short_amount,
    over_short_tolerance,
    hold_reasons
from {{ ref('journals') }}
where abs(over_short_amount) > over_short_tolerance
