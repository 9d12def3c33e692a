-- Tie: a ready journal's net sales, tax, tips, gratuity, service charges and tenders (in total
-- and per payment type) equal what the same orders give by Toast's own formulas
-- (sales_summary). A failure names the journal and the figures that differ (journal - Toast).
{{ config(severity='error') }}

{% set differences = [
    'net_sales_difference', 'tax_difference', 'tips_difference', 'gratuity_difference',
    'service_charges_difference', 'tenders_difference', 'tenders_cash_difference',
    'tenders_credit_difference', 'tenders_giftcard_difference',
    'tenders_house_account_difference', 'tenders_rewardcard_difference',
    'tenders_toast_sv_difference', 'tenders_other_difference',
    'tenders_undetermined_difference', 'refunds_difference'] %}

select
    journal_id,
    restaurant_guid,
    business_date,
    {% for column in differences %}
    {{ column }},
    {% endfor %}
    toast_tenders_unknown_type
from {{ ref('sales_summary') }}
where journal_status = 'ready'
  and (
    toast_tenders_unknown_type <> 0
    {%- for column in differences %}
    or {{ column }} <> 0
    {%- endfor %}
  )
