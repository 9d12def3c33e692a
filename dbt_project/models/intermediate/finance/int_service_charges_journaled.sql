{{ config(
    pre_hook="{{ toast_delete_reloaded_orders(ref('base_toast__orders')) }}",
    post_hook="{{ toast_record_watermark(ref('base_toast__orders')) }}",
    **toast_order_model_config(),
) }}

-- Service charge legs (ACCOUNTING.md rule 5), per order and business day (int_order_legs_summed
-- sums them per day), one credit per applied service charge of an included check, by kind:
--   gratuity               gratuity = true: gratuity payable (owed to staff), never revenue
--   donations              FUNDRAISING_CAMPAIGN: donations payable, never revenue
--   credit_card_surcharge  CREDIT_CARD_SURCHARGE: its own mapped account
--   cash_rounding          CASH_ROUNDING: its own mapped account (the amount may be negative)
--   service_charge         any other charge: service charge revenue, mapped per charge

with

service_charges as (
    {{ toast_order_rows(ref('stg_toast__applied_service_charges')) }}
),

checks as (
    {{ toast_order_rows(ref('int_checks_classified')) }}
),

classified as (
    select
        checks.restaurant_guid,
        checks.order_guid,
        checks._dlt_load_id,
        checks.business_date,
        checks.revenue_center_guid,
        service_charges.service_charge_guid,
        service_charges.service_charge_category,
        service_charges.name,
        coalesce(service_charges.charge_amount, 0) as charge_amount,   -- null: nothing charged
        {{ finance_service_charge_kind('service_charges.gratuity',
                                       'service_charges.service_charge_category') }} as charge_kind
    from service_charges
    inner join checks
        on service_charges.restaurant_guid = checks.restaurant_guid
        and service_charges.check_guid = checks.check_guid
    where checks.is_included
),

legs as (
    select
        {{ finance_leg_columns(
            line_kind="charge_kind",
            entry_side="'credit'",
            entry_source="'applied_service_charge'",
            account_source="case when " ~ finance_service_charge_role('charge_kind')
                ~ " is null then 'service_charge' else 'role' end",
            account_role=finance_service_charge_role('charge_kind'),
            revenue_center_guid="case when " ~ finance_service_charge_role('charge_kind')
                ~ " is null then revenue_center_guid end",
            service_charge_guid="service_charge_guid",
            service_charge_category="service_charge_category",
            source_name="name",
            amount="charge_amount",
        ) }}
    from classified
),

final as (
    {{ finance_sum_order_legs('legs') }}
)

select * from final
