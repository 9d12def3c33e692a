{{ config(
    pre_hook="{{ toast_delete_reloaded_orders(ref('base_toast__orders')) }}",
    post_hook="{{ toast_record_watermark(ref('base_toast__orders')) }}",
    **toast_order_model_config(),
) }}

-- The applied taxes the sales journal counts, one row per applied tax at full precision
-- (ACCOUNTING.md rule 6), on its check's business date: the taxes of the included selections,
-- of their modifiers at any depth (a modifier can carry taxes of its own: its price is inside
-- its parent's, its tax is real tax, and Toast's check.taxAmount counts it), and of the service
-- charges of included checks. A voided modifier and everything under it count for nothing.
--
-- Kept per order like the staging models (macros/toast_incremental.sql): a night itemises the
-- orders it loaded, and int_taxes_journaled, which rounds each rate once per day, reads the
-- days it rebuilds from this table instead of itemising weeks of orders again.

with recursive

applied_taxes as (
    {{ toast_order_rows(ref('stg_toast__applied_taxes')) }}
),

selections as (
    {{ toast_order_rows(ref('int_selections_classified')) }}
),

modifiers as (
    select * from ({{ toast_order_rows(ref('stg_toast__selections')) }}) as order_selections
    where is_modifier
),

service_charges as (
    {{ toast_order_rows(ref('stg_toast__applied_service_charges')) }}
),

checks as (
    {{ toast_order_rows(ref('int_checks_classified')) }}
),

included_checks as (
    select * from checks
    where is_included
),

-- the modifiers under a counted selection, at any depth; a voided modifier and everything under
-- it count for nothing
counted_modifiers as (
    select
        modifiers.restaurant_guid,
        modifiers.check_guid,
        modifiers.selection_guid
    from modifiers
    inner join selections
        on modifiers.restaurant_guid = selections.restaurant_guid
        and modifiers.check_guid = selections.check_guid
        and modifiers.parent_selection_guid = selections.selection_guid
    where not coalesce(modifiers.voided, false)

    union all

    select
        modifiers.restaurant_guid,
        modifiers.check_guid,
        modifiers.selection_guid
    from modifiers
    inner join counted_modifiers
        on modifiers.restaurant_guid = counted_modifiers.restaurant_guid
        and modifiers.check_guid = counted_modifiers.check_guid
        and modifiers.parent_selection_guid = counted_modifiers.selection_guid
    where not coalesce(modifiers.voided, false)
),

counted_selections as (
    select restaurant_guid, check_guid, selection_guid from selections
    union all
    select restaurant_guid, check_guid, selection_guid from counted_modifiers
),

selection_taxes as (
    select
        applied_taxes.restaurant_guid,
        applied_taxes.check_guid,
        applied_taxes.applied_tax_key,
        applied_taxes.taxed_guid,
        applied_taxes.tax_rate_guid,
        applied_taxes.name,
        coalesce(applied_taxes.facilitator_collect_and_remit_tax, false) as is_facilitator_tax,
        applied_taxes.tax_amount_exact
    from applied_taxes
    inner join counted_selections
        on applied_taxes.restaurant_guid = counted_selections.restaurant_guid
        and applied_taxes.check_guid = counted_selections.check_guid
        and applied_taxes.taxed_guid = counted_selections.selection_guid
    where applied_taxes.taxed_kind = 'selection'
),

service_charge_taxes as (
    select
        applied_taxes.restaurant_guid,
        applied_taxes.check_guid,
        applied_taxes.applied_tax_key,
        applied_taxes.taxed_guid,
        applied_taxes.tax_rate_guid,
        applied_taxes.name,
        coalesce(applied_taxes.facilitator_collect_and_remit_tax, false) as is_facilitator_tax,
        applied_taxes.tax_amount_exact
    from applied_taxes
    inner join service_charges
        on applied_taxes.restaurant_guid = service_charges.restaurant_guid
        and applied_taxes.taxed_guid = service_charges.applied_service_charge_guid
    where applied_taxes.taxed_kind = 'service_charge'
),

itemised as (
    select * from selection_taxes
    union all
    select * from service_charge_taxes
),

final as (
    select
        itemised.restaurant_guid,
        included_checks.order_guid,
        itemised.check_guid,
        included_checks.business_date,
        itemised.applied_tax_key,
        itemised.taxed_guid,
        itemised.tax_rate_guid,
        itemised.name,
        itemised.is_facilitator_tax,
        itemised.tax_amount_exact,
        included_checks._dlt_load_id
    from itemised
    inner join included_checks
        on itemised.restaurant_guid = included_checks.restaurant_guid
        and itemised.check_guid = included_checks.check_guid
)

select * from final
