{{ config(
    pre_hook="{{ toast_delete_reloaded_orders(ref('base_toast__orders')) }}",
    post_hook="{{ toast_record_watermark(ref('base_toast__orders')) }}",
    **toast_order_model_config(),
) }}

-- Unpaid check legs (ACCOUNTING.md rule 10), per order and business day (int_order_legs_summed
-- sums them per day). A check's sales, tax and service charges belong to
-- its order's business date whether or not it has been paid; what was not paid by the end of
-- that day is owed by the guest:
--   unpaid_checks            on the check's business date: debit unpaid-checks receivable with
--                            amount_due less the payments of that day, for a check still open
--                            or paid (in part) on another day
--   unpaid_checks_collected  on each other paidBusinessDate: credit the receivable with the
--                            payment's amount (its tender is debited by int_payments_journaled).
--                            A payment before the check's day (a future order paid ahead: its
--                            businessDate is the promised date) leaves the receivable in credit,
--                            a customer deposit, until the order's day debits it.
-- A check paid in full on its own day gives no leg; a same-day difference between what was due
-- and what was paid is left to over/short.

with

checks as (
    {{ toast_order_rows(ref('int_checks_classified')) }}
),

payments as (
    {{ toast_order_rows(ref('stg_toast__payments')) }}
),

included_checks as (
    select * from checks
    where is_included
),

check_payments as (
    select
        included_checks.restaurant_guid,
        included_checks.order_guid,
        included_checks._dlt_load_id,
        included_checks.check_guid,
        included_checks.business_date as check_business_date,
        payments.paid_business_date,
        coalesce(payments.amount, 0) as amount
    from payments
    inner join included_checks
        on payments.restaurant_guid = included_checks.restaurant_guid
        and payments.check_guid = included_checks.check_guid
    where {{ finance_payment_is_active('payments') }}
      and payments.paid_business_date is not null
),

check_balances as (
    select
        included_checks.restaurant_guid,
        included_checks.order_guid,
        included_checks._dlt_load_id,
        included_checks.check_guid,
        included_checks.business_date,
        included_checks.payment_status,
        included_checks.amount_due,
        coalesce(sum(check_payments.amount) filter (
            where check_payments.paid_business_date = included_checks.business_date), 0)
            as paid_on_the_day,
        count(check_payments.check_guid) filter (
            where check_payments.paid_business_date <> included_checks.business_date)
            as other_day_payment_count
    from included_checks
    left join check_payments
        on included_checks.restaurant_guid = check_payments.restaurant_guid
        and included_checks.check_guid = check_payments.check_guid
    group by
        included_checks.restaurant_guid,
        included_checks.order_guid,
        included_checks._dlt_load_id,
        included_checks.check_guid,
        included_checks.business_date,
        included_checks.payment_status,
        included_checks.amount_due
),

opened as (
    select
        {{ finance_leg_columns(
            line_kind="'unpaid_checks'",
            entry_side="'debit'",
            entry_source="'check'",
            account_source="'role'",
            account_role="'unpaid_checks'",
            amount="amount_due - paid_on_the_day",
        ) }}
    from check_balances
    where (payment_status = 'OPEN' or other_day_payment_count > 0)
      and amount_due - paid_on_the_day <> 0
),

collected as (
    select
        {{ finance_leg_columns(
            line_kind="'unpaid_checks_collected'",
            entry_side="'credit'",
            entry_source="'payment'",
            account_source="'role'",
            account_role="'unpaid_checks'",
            business_date="paid_business_date",
            amount="amount",
        ) }}
    from check_payments
    where paid_business_date <> check_business_date
      and amount <> 0
),

legs as (
    select * from opened
    union all
    select * from collected
),

final as (
    {{ finance_sum_order_legs('legs') }}
)

select * from final
