{{ config(
    pre_hook="{{ toast_delete_reloaded_orders(ref('base_toast__orders')) }}",
    post_hook="{{ toast_record_watermark(ref('base_toast__orders')) }}",
    **toast_order_model_config(),
) }}

-- Refund legs (ACCOUNTING.md rule 9), per order and business day = the refund's
-- refundBusinessDate, not the order's (adminViewingRefundsInToastReports: "Refunds only affect
-- financial data on the day of the refund"):
--   refund_tender                  credit the payment's tender account: refundAmount +
--                                  tipRefundAmount
--   refund_tip                     debit tips payable: tipRefundAmount
--   refund_sales                   debit the sales category's revenue account: the refunded
--                                  selections' refundDetails.refundAmount (per category x revenue
--                                  center); refund_gift_card_sales / refund_house_account_payments
--                                  debit the liability / receivable instead
--   refund_tax, refund_facilitator_tax
--                                  debit tax payable per tax rate: taxRefundAmount, shared over the
--                                  selection's applied taxes in proportion (half-even, remainder on
--                                  the largest)
--   refund_<service charge kind>   debit what the charge credited (gratuity payable, donations
--                                  payable, its revenue account) and its tax, pro rata
--   refund_not_itemised            debit whatever of the refund transaction is not tied to items
--                                  or service charges (a custom amount refund) to its own account
-- A refund transaction is Toast's refundTransaction guid (the payment guid when there is none),
-- always of one order. int_order_legs_summed sums the legs per day.

with

refunds as (
    {{ toast_order_rows(ref('stg_toast__refunds')) }}
),

payments as (
    {{ toast_order_rows(ref('stg_toast__payments')) }}
),

selections as (
    {{ toast_order_rows(ref('int_selections_classified')) }}
),

applied_taxes as (
    {{ toast_order_rows(ref('stg_toast__applied_taxes')) }}
),

service_charges as (
    {{ toast_order_rows(ref('stg_toast__applied_service_charges')) }}
),

checks as (
    {{ toast_order_rows(ref('int_checks_classified')) }}
),

payment_refunds as (
    select
        refunds.restaurant_guid,
        refunds.order_guid,
        refunds._dlt_load_id,
        refunds.check_guid,
        refunds.payment_guid,
        coalesce(refunds.refund_transaction_guid, refunds.payment_guid) as transaction_key,
        refunds.refund_business_date as business_date,
        refunds.payment_type,
        refunds.card_type,
        refunds.other_payment_guid,
        coalesce(refunds.refund_amount, 0) as refund_amount,
        coalesce(refunds.tip_refund_amount, 0) as tip_refund_amount
    from refunds
    left join payments
        on refunds.restaurant_guid = payments.restaurant_guid
        and refunds.payment_guid = payments.payment_guid
    where refunds.refund_business_date is not null
      and (payments.payment_guid is null or {{ finance_payment_is_active('payments') }})
),

transactions as (
    select
        restaurant_guid,
        order_guid,
        _dlt_load_id,
        transaction_key,
        max(business_date) as business_date,
        sum(refund_amount) as refund_amount
    from payment_refunds
    group by restaurant_guid, order_guid, _dlt_load_id, transaction_key
),

-- the latest refund transaction of each check: where a service charge refund that names no
-- refund transaction of its own belongs
check_transactions as (
    select
        restaurant_guid,
        check_guid,
        transaction_key
    from (
        select
            payment_refunds.*,
            row_number() over (
                partition by restaurant_guid, check_guid
                order by business_date desc, transaction_key asc
            ) as recency
        from payment_refunds
    ) as ranked
    where recency = 1
),

selection_refunds as (
    select
        selections.restaurant_guid,
        selections.selection_guid,
        selections.revenue_center_guid,
        selections.sales_category_guid,
        selections.sale_kind,
        selections.refund_amount,
        selections.tax_refund_amount,
        transactions.order_guid,
        transactions._dlt_load_id,
        transactions.transaction_key,
        transactions.business_date
    from selections
    inner join transactions
        on selections.restaurant_guid = transactions.restaurant_guid
        and selections.refund_transaction_guid = transactions.transaction_key
    where selections.refund_amount <> 0
       or selections.tax_refund_amount <> 0
),

service_charge_taxes as (
    select
        restaurant_guid,
        taxed_guid as applied_service_charge_guid,
        sum(tax_amount) as tax_amount
    from applied_taxes
    where taxed_kind = 'service_charge'
    group by restaurant_guid, taxed_guid
),

service_charge_refunds as (
    select
        service_charges.restaurant_guid,
        service_charges.applied_service_charge_guid,
        service_charges.service_charge_guid,
        service_charges.service_charge_category,
        service_charges.name,
        service_charges.refund_amount,
        -- Toast's taxRefundAmount when it gives one, else the charge's tax pro rata
        coalesce(
            service_charges.tax_refund_amount,
            case
                when service_charges.charge_amount <> 0
                    then {{ finance_from_cents(finance_div_half_even(
                        finance_to_cents('coalesce(service_charge_taxes.tax_amount, 0)') ~ ' * '
                            ~ finance_to_cents('service_charges.refund_amount'),
                        finance_to_cents('service_charges.charge_amount'))) }}
            end,
            0
        ) as tax_refund_amount,
        {{ finance_service_charge_kind('service_charges.gratuity',
                                       'service_charges.service_charge_category') }} as charge_kind,
        checks.revenue_center_guid,
        transactions.order_guid,
        transactions._dlt_load_id,
        transactions.transaction_key,
        transactions.business_date
    from service_charges
    inner join checks
        on service_charges.restaurant_guid = checks.restaurant_guid
        and service_charges.check_guid = checks.check_guid
    left join check_transactions
        on service_charges.restaurant_guid = check_transactions.restaurant_guid
        and service_charges.check_guid = check_transactions.check_guid
    inner join transactions
        on service_charges.restaurant_guid = transactions.restaurant_guid
        and coalesce(service_charges.refund_transaction_guid, check_transactions.transaction_key)
            = transactions.transaction_key
    left join service_charge_taxes
        on service_charges.restaurant_guid = service_charge_taxes.restaurant_guid
        and service_charges.applied_service_charge_guid
            = service_charge_taxes.applied_service_charge_guid
    where checks.is_included
      and (coalesce(service_charges.refund_amount, 0) <> 0
           or coalesce(service_charges.tax_refund_amount, 0) <> 0)
),

-- refunded tax, selection or service charge, to share over the taxed thing's applied taxes
taxed_refunds as (
    select
        restaurant_guid,
        order_guid,
        _dlt_load_id,
        'selection' as taxed_kind,
        selection_guid as taxed_guid,
        transaction_key,
        business_date,
        tax_refund_amount,
        'selection_refund' as entry_source
    from selection_refunds
    where tax_refund_amount <> 0
    union all
    select
        restaurant_guid,
        order_guid,
        _dlt_load_id,
        'service_charge' as taxed_kind,
        applied_service_charge_guid as taxed_guid,
        transaction_key,
        business_date,
        tax_refund_amount,
        'service_charge_refund' as entry_source
    from service_charge_refunds
    where tax_refund_amount <> 0
),

tax_weights as (
    select
        taxed_refunds.*,
        applied_taxes.tax_rate_guid,
        applied_taxes.name,
        coalesce(applied_taxes.facilitator_collect_and_remit_tax, false) as is_facilitator_tax,
        {{ finance_to_cents('taxed_refunds.tax_refund_amount') }} as refund_cents,
        {{ finance_to_cents('applied_taxes.tax_amount') }} as weight_cents,
        sum({{ finance_to_cents('applied_taxes.tax_amount') }}) over (
            partition by taxed_refunds.restaurant_guid, taxed_refunds.taxed_kind,
                taxed_refunds.taxed_guid
        ) as weight_total_cents,
        row_number() over (
            partition by taxed_refunds.restaurant_guid, taxed_refunds.taxed_kind,
                taxed_refunds.taxed_guid
            order by applied_taxes.tax_amount desc, applied_taxes.applied_tax_key asc
        ) as weight_rank
    from taxed_refunds
    inner join applied_taxes
        on taxed_refunds.restaurant_guid = applied_taxes.restaurant_guid
        and taxed_refunds.taxed_kind = applied_taxes.taxed_kind
        and taxed_refunds.taxed_guid = applied_taxes.taxed_guid
),

tax_shares as (
    select
        *,
        {{ finance_div_half_even('refund_cents * weight_cents', 'weight_total_cents') }}
            as rounded_cents
    from tax_weights
    where weight_total_cents <> 0
),

tax_refunds as (
    select
        restaurant_guid,
        order_guid,
        _dlt_load_id,
        transaction_key,
        business_date,
        entry_source,
        tax_rate_guid,
        name,
        is_facilitator_tax,
        {{ finance_from_cents(
            "rounded_cents + case when weight_rank = 1 then refund_cents - sum(rounded_cents)
                over (partition by restaurant_guid, taxed_kind, taxed_guid) else 0 end") }}
            as tax_refund_amount
    from tax_shares

    union all

    -- tax refunded on something with no applied tax to share it over
    select
        taxed_refunds.restaurant_guid,
        taxed_refunds.order_guid,
        taxed_refunds._dlt_load_id,
        taxed_refunds.transaction_key,
        taxed_refunds.business_date,
        taxed_refunds.entry_source,
        cast(null as varchar) as tax_rate_guid,
        'Tax not itemised by rate' as name,
        false as is_facilitator_tax,
        taxed_refunds.tax_refund_amount
    from taxed_refunds
    where not exists (
        select 1
        from tax_shares
        where tax_shares.restaurant_guid = taxed_refunds.restaurant_guid
          and tax_shares.taxed_kind = taxed_refunds.taxed_kind
          and tax_shares.taxed_guid = taxed_refunds.taxed_guid
    )
),

itemised_by_transaction as (
    select restaurant_guid, transaction_key, sum(amount) as itemised_amount
    from (
        select restaurant_guid, transaction_key, refund_amount + tax_refund_amount as amount
        from selection_refunds
        union all
        select restaurant_guid, transaction_key, refund_amount + tax_refund_amount as amount
        from service_charge_refunds
    ) as itemised
    group by restaurant_guid, transaction_key
),

not_itemised as (
    select
        transactions.restaurant_guid,
        transactions.order_guid,
        transactions._dlt_load_id,
        transactions.business_date,
        transactions.refund_amount - coalesce(itemised_by_transaction.itemised_amount, 0) as amount
    from transactions
    left join itemised_by_transaction
        on transactions.restaurant_guid = itemised_by_transaction.restaurant_guid
        and transactions.transaction_key = itemised_by_transaction.transaction_key
    where transactions.refund_amount - coalesce(itemised_by_transaction.itemised_amount, 0) <> 0
),

legs as (
    select
        {{ finance_leg_columns(
            line_kind="'refund_tender'",
            entry_side="'credit'",
            entry_source="'refund'",
            account_source="'payment_type'",
            payment_type="payment_type",
            card_type="card_type",
            other_payment_guid="other_payment_guid",
            amount="refund_amount + tip_refund_amount",
        ) }}
    from payment_refunds

    union all

    select
        {{ finance_leg_columns(
            line_kind="'refund_tip'",
            entry_side="'debit'",
            entry_source="'refund'",
            account_source="'role'",
            account_role="'tips_payable'",
            amount="tip_refund_amount",
        ) }}
    from payment_refunds
    where tip_refund_amount <> 0

    union all

    select
        {{ finance_leg_columns(
            line_kind="'refund_' || sale_kind",
            entry_side="'debit'",
            entry_source="'selection_refund'",
            account_source="case when sale_kind = 'sales' then 'sales_category' else 'role' end",
            account_role="case sale_kind when 'gift_card_sales' then 'gift_card_liability'
                when 'house_account_payments' then 'house_account_receivable' end",
            revenue_center_guid="case when sale_kind = 'sales' then revenue_center_guid end",
            sales_category_guid="case when sale_kind = 'sales' then sales_category_guid end",
            amount="refund_amount",
        ) }}
    from selection_refunds
    where refund_amount <> 0

    union all

    select
        {{ finance_leg_columns(
            line_kind="case when is_facilitator_tax then 'refund_facilitator_tax' else 'refund_tax' end",
            entry_side="'debit'",
            entry_source="entry_source",
            account_source="case when is_facilitator_tax then 'facilitator_tax' else 'tax_rate' end",
            tax_rate_guid="tax_rate_guid",
            source_name="name",
            amount="tax_refund_amount",
        ) }}
    from tax_refunds

    union all

    select
        {{ finance_leg_columns(
            line_kind="'refund_' || charge_kind",
            entry_side="'debit'",
            entry_source="'service_charge_refund'",
            account_source="case when " ~ finance_service_charge_role('charge_kind')
                ~ " is null then 'service_charge' else 'role' end",
            account_role=finance_service_charge_role('charge_kind'),
            revenue_center_guid="case when " ~ finance_service_charge_role('charge_kind')
                ~ " is null then revenue_center_guid end",
            service_charge_guid="service_charge_guid",
            service_charge_category="service_charge_category",
            source_name="name",
            amount="refund_amount",
        ) }}
    from service_charge_refunds
    where refund_amount <> 0

    union all

    select
        {{ finance_leg_columns(
            line_kind="'refund_not_itemised'",
            entry_side="'debit'",
            entry_source="'refund'",
            account_source="'role'",
            account_role="'refunds_not_itemised'",
            amount="amount",
        ) }}
    from not_itemised
),

final as (
    {{ finance_sum_order_legs('legs') }}
)

select * from final
