-- The distinct things the journal legs name (locations, roles, sales categories, discounts,
-- revenue centers, service charges, tax rates, tenders), over all business days: one row per
-- combination, with the greatest source_name the legs gave it. What the
-- int_<kind>_mappings_resolved views read instead of the legs themselves, so a build reads the
-- legs once here rather than once per kind; a few rows per location, however long the history.

with

legs as (
    select * from {{ ref('int_journal_legs_unioned') }}
),

final as (
    select
        restaurant_guid,
        account_source,
        account_role,
        revenue_center_guid,
        sales_category_guid,
        discount_guid,
        service_charge_guid,
        service_charge_category,
        tax_rate_guid,
        payment_type,
        card_type,
        other_payment_guid,
        max(source_name) as source_name
    from legs
    group by all
)

select * from final
