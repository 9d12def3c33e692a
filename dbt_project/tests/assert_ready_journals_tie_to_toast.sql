-- Tie: a ready journal's figures equal what the same orders give by Toast's own formulas
-- (sales_summary, from int_toast_days_summarized): gross sales and discounts (where the
-- location presents them gross; under net presentation the journal has no discount lines and
-- both are null, so only net sales is compared), net sales, service charges, gratuity,
-- donations, gift cards sold, house account payments, tax, tips, refunds and tenders in total
-- and per payment type. A failure names the journal and the figures that differ
-- (journal - Toast).
{{ config(severity='error') }}

{% set differences = [
    'gross_sales_difference', 'discounts_difference', 'net_sales_difference',
    'service_charges_difference', 'gratuity_difference', 'donations_difference',
    'gift_card_sales_difference', 'house_account_payments_difference', 'tax_difference',
    'tips_difference', 'refunds_difference', 'tenders_difference', 'tenders_cash_difference',
    'tenders_credit_difference', 'tenders_giftcard_difference',
    'tenders_house_account_difference', 'tenders_rewardcard_difference',
    'tenders_toast_sv_difference', 'tenders_other_difference',
    'tenders_undetermined_difference'] %}

select
    journal_id,
    restaurant_guid,
    business_date,
    discount_presentation,
    {% for column in differences %}
    {{ column }},
    {% endfor %}
    toast_tenders_unknown_type
from {{ ref('sales_summary') }}
where journal_status = 'ready'
  and (
    toast_tenders_unknown_type <> 0
    {%- for column in differences %}
    or coalesce({{ column }}, 0) <> 0
    {%- endfor %}
  )
