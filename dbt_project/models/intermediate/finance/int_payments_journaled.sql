{{ config(**finance_leg_model_config()) }}
{%- set order_window = finance_order_window(ref('stg_toast__changed_days')) %}

-- Payment legs (ACCOUNTING.md rules 7 and 8), per business day = the payment's
-- paidBusinessDate:
--   tender  debit amount + tipAmount per payment type (card type, alternate payment type):
--           clearing accounts for cards and third parties, gift card liability for gift card
--           redemptions, house account receivable for house account charges (as mapped)
--   tip     credit tipAmount to tips payable
-- Voided payments are left out (finance_payment_is_active). Every other payment counts,
-- whatever became of its check: money taken is posted, and a payment on an excluded check
-- shows up as over/short instead of disappearing.

with

days as (
    {{ finance_days_to_build(ref('stg_toast__changed_days')) }}
),

-- read by finance_in_order_window on an incremental run only
orders_to_build as (  -- noqa: ST03
    {{ finance_orders_to_build(ref('stg_toast__changed_days')) }}
),

payments as (
    select * from {{ ref('stg_toast__payments') }}
    where {{ finance_in_order_window('order_business_date', order_window) }}
),

active_payments as (
    select
        restaurant_guid,
        paid_business_date as business_date,
        payment_type,
        card_type,
        other_payment_guid,
        coalesce(amount, 0) as amount,
        coalesce(tip_amount, 0) as tip_amount
    from payments
    where {{ finance_payment_is_active('payments') }}
      and paid_business_date is not null
),

tenders as (
    select
        {{ finance_leg_columns(
            line_kind="'tender'",
            entry_side="'debit'",
            entry_source="'payment'",
            account_source="'payment_type'",
            payment_type="payment_type",
            card_type="card_type",
            other_payment_guid="other_payment_guid",
            amount="amount + tip_amount",
        ) }}
    from active_payments
),

tips as (
    select
        {{ finance_leg_columns(
            line_kind="'tip'",
            entry_side="'credit'",
            entry_source="'payment'",
            account_source="'role'",
            account_role="'tips_payable'",
            amount="tip_amount",
        ) }}
    from active_payments
    where tip_amount <> 0
),

legs as (
    select * from tenders
    union all
    select * from tips
),

final as (
    {{ finance_aggregate_legs('legs', 'days') }}
)

select * from final
