{{ config(
    pre_hook="{{ toast_delete_reloaded_orders(ref('base_toast__orders')) }}",
    post_hook="{{ toast_record_watermark(ref('base_toast__orders')) }}",
    **toast_order_model_config(),
) }}

-- Check-level discounts shared out to the selections they reduce (ACCOUNTING.md rule 2), so the
-- journal can post them per sales category x revenue center.
--
-- The amount spread is the discount's nonTaxDiscountAmount (equal to discountAmount unless the
-- check holds tax-inclusive items, where it is the part that reduced the price), over the
-- check's included 'sales' selections in proportion to their discountable_amount (price before
-- check discounts). Each share is rounded half-even to the cent in exact integer arithmetic; what
-- rounding leaves over goes to the largest selection (ties: lowest selection_guid), so the
-- shares always add up to the discount. A discount on a check with nothing to spread it over
-- keeps one row with no selection and no sales category (posted to the default discount
-- account and reported as unmapped).
--
-- Kept per order like the staging models (macros/toast_incremental.sql): a night processes the
-- orders loaded since the last run, and the models kept per order read only those orders'
-- rows of it.

with

applied_discounts as (
    {{ toast_order_rows(ref('stg_toast__applied_discounts')) }}
),

checks as (
    {{ toast_order_rows(ref('int_checks_classified')) }}
),

selections as (
    {{ toast_order_rows(ref('int_selections_classified')) }}
),

check_discounts as (
    select
        applied_discounts.restaurant_guid,
        applied_discounts.check_guid,
        applied_discounts.applied_discount_guid,
        applied_discounts.discount_guid,
        applied_discounts.name as discount_name,
        checks.order_guid,
        checks.business_date,
        checks.revenue_center_guid,
        coalesce(applied_discounts.non_tax_discount_amount,
                 applied_discounts.discount_amount, 0) as discount_amount,
        checks._dlt_load_id
    from applied_discounts
    inner join checks
        on applied_discounts.restaurant_guid = checks.restaurant_guid
        and applied_discounts.check_guid = checks.check_guid
    where applied_discounts.discount_level = 'check'
      and checks.is_included
),

eligible_selections as (
    select *
    from selections
    where sale_kind = 'sales'
      and discountable_amount > 0
),

weighted as (
    select
        check_discounts.*,
        eligible_selections.selection_guid,
        eligible_selections.sales_category_guid,
        {{ finance_to_cents('check_discounts.discount_amount') }} as discount_cents,
        {{ finance_to_cents('eligible_selections.discountable_amount') }} as weight_cents,
        sum({{ finance_to_cents('eligible_selections.discountable_amount') }}) over (
            partition by check_discounts.restaurant_guid, check_discounts.applied_discount_guid
        ) as weight_total_cents,
        row_number() over (
            partition by check_discounts.restaurant_guid, check_discounts.applied_discount_guid
            order by
                eligible_selections.discountable_amount desc,
                eligible_selections.selection_guid asc
        ) as weight_rank
    from check_discounts
    inner join eligible_selections
        on check_discounts.restaurant_guid = eligible_selections.restaurant_guid
        and check_discounts.check_guid = eligible_selections.check_guid
),

shared as (
    select
        *,
        {{ finance_div_half_even('discount_cents * weight_cents', 'weight_total_cents') }}
            as rounded_share_cents
    from weighted
),

with_remainder as (
    select
        *,
        rounded_share_cents
        + case
            when weight_rank = 1
                then discount_cents - sum(rounded_share_cents) over (
                    partition by restaurant_guid, applied_discount_guid)
            else 0
          end as share_cents
    from shared
),

spread as (
    select
        restaurant_guid,
        order_guid,
        check_guid,
        applied_discount_guid,
        discount_guid,
        discount_name,
        business_date,
        revenue_center_guid,
        selection_guid,
        sales_category_guid,
        {{ finance_from_cents('share_cents') }} as discount_amount,
        weight_rank = 1 as has_rounding_remainder,
        _dlt_load_id
    from with_remainder
),

unspread as (
    select
        restaurant_guid,
        order_guid,
        check_guid,
        applied_discount_guid,
        discount_guid,
        discount_name,
        business_date,
        revenue_center_guid,
        cast(null as varchar) as selection_guid,
        cast(null as varchar) as sales_category_guid,
        {{ money('discount_amount') }} as discount_amount,
        false as has_rounding_remainder,
        _dlt_load_id
    from check_discounts
    where not exists (
        select 1
        from eligible_selections
        where eligible_selections.restaurant_guid = check_discounts.restaurant_guid
          and eligible_selections.check_guid = check_discounts.check_guid
    )
),

final as (
    select * from spread
    union all
    select * from unspread
)

select * from final
