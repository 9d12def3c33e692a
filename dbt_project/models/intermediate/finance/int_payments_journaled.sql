{{ config(
    pre_hook="{{ toast_delete_reloaded_orders(ref('base_toast__orders')) }}",
    post_hook="{{ toast_record_watermark(ref('base_toast__orders')) }}",
    **toast_order_model_config(),
) }}

-- Payment legs (ACCOUNTING.md rules 7 and 8), per order and business day = the payment's
-- paidBusinessDate (int_order_legs_summed sums them per day):
--   tender  debit amount + tipAmount per payment type (card type, alternate payment type):
--           clearing accounts for cards and third parties, gift card liability for gift card
--           redemptions, house account receivable for house account charges (as mapped)
--   tip     credit tipAmount to tips payable
-- Voided payments are left out (finance_payment_is_active). Every other payment counts,
-- whatever became of its check: money taken is posted, and a payment on an excluded check
-- shows up as over/short instead of disappearing.

with

payments as (
    {{ toast_order_rows(ref('stg_toast__payments')) }}
),

active_payments as (
    select
        restaurant_guid,
        order_guid,
        _dlt_load_id,
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
    {{ finance_sum_order_legs('legs') }}
)

select * from final
