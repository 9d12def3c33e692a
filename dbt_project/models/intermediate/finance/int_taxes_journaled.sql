{{ config(**finance_leg_model_config()) }}
{%- set order_window = finance_order_window(ref('stg_toast__changed_days')) %}

-- Sales tax legs (ACCOUNTING.md rule 6), per business day: a credit per tax rate of every
-- applied tax on the included selections, on their modifiers at any depth (a modifier can carry
-- taxes of its own: its price is inside its parent's, its tax is real tax, and Toast's
-- check.taxAmount counts it), and on the service charges of included checks.
-- Tax a marketplace facilitator collects and remits (facilitatorCollectAndRemitTax) is its own
-- line kind, facilitator_tax, posted to its own account.
--
-- The total is Toast's: Σ check.taxAmount. Per-rate amounts can have more than two decimals
-- (0.075 and 0.625 on a 0.70 selection tax): each rate's amounts are summed over the day at full
-- precision and rounded once, the cents spread (largest remainder) so the rate lines add up to
-- exactly Σ check.taxAmount (ACCOUNTING.md "Real Toast data"). Where a check's applied taxes
-- differ from its taxAmount by more than that rounding explains, the difference is a `tax` leg
-- with no tax rate (default tax account, reported as unmapped, so the journal is held for a look
-- rather than posted off by the difference).

with recursive

days as (
    {{ finance_days_to_build(ref('stg_toast__changed_days')) }}
),

-- read by finance_in_order_window on an incremental run only
orders_to_build as (  -- noqa: ST03
    {{ finance_orders_to_build(ref('stg_toast__changed_days')) }}
),

applied_taxes as (
    select * from {{ ref('stg_toast__applied_taxes') }}
    where {{ finance_in_order_window('order_business_date', order_window) }}
),

selections as (
    select * from {{ ref('int_selections_classified') }}
    where {{ finance_in_order_window('business_date', order_window) }}
),

modifiers as (
    select * from {{ ref('stg_toast__selections') }}
    where {{ finance_in_order_window('order_business_date', order_window) }}
      and is_modifier
),

service_charges as (
    select * from {{ ref('stg_toast__applied_service_charges') }}
    where {{ finance_in_order_window('order_business_date', order_window) }}
),

checks as (
    select * from {{ ref('int_checks_classified') }}
    where {{ finance_in_order_window('business_date', order_window) }}
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

itemised_by_check as (
    select
        itemised.*,
        included_checks.business_date
    from itemised
    inner join included_checks
        on itemised.restaurant_guid = included_checks.restaurant_guid
        and itemised.check_guid = included_checks.check_guid
),

check_itemised as (
    select
        restaurant_guid,
        check_guid,
        sum(tax_amount_exact) as itemised_exact,
        count(distinct taxed_guid) as taxed_count
    from itemised_by_check
    group by restaurant_guid, check_guid
),

-- A check's real difference: its taxAmount against its per-rate amounts at full precision, when
-- that is more than Toast's rounding of each taxed item's tax to the cent can explain (half a
-- cent per taxed selection or service charge).
check_differences as (
    select
        included_checks.restaurant_guid,
        included_checks.check_guid,
        included_checks.business_date,
        included_checks.tax_amount - coalesce(check_itemised.itemised_exact, 0) as difference_exact
    from included_checks
    left join check_itemised
        on included_checks.restaurant_guid = check_itemised.restaurant_guid
        and included_checks.check_guid = check_itemised.check_guid
    where abs(included_checks.tax_amount - coalesce(check_itemised.itemised_exact, 0))
        > 0.005 * coalesce(check_itemised.taxed_count, 0)
),

day_differences as (
    select
        restaurant_guid,
        business_date,
        sum(difference_exact) as difference_exact
    from check_differences
    group by restaurant_guid, business_date
),

-- the day's tax is Toast's: Σ check.taxAmount; what is not a real difference goes to the rates
day_totals as (
    select
        included_checks.restaurant_guid,
        included_checks.business_date,
        {{ finance_to_cents('sum(included_checks.tax_amount)') }} as tax_cents,
        {{ finance_to_cents('coalesce(max(day_differences.difference_exact), 0)') }}
            as not_itemised_cents
    from included_checks
    left join day_differences
        on included_checks.restaurant_guid = day_differences.restaurant_guid
        and included_checks.business_date = day_differences.business_date
    group by included_checks.restaurant_guid, included_checks.business_date
),

-- each rate's amounts summed over the day at full precision, in units of 1e-12
rate_sums as (
    select
        restaurant_guid,
        business_date,
        tax_rate_guid,
        is_facilitator_tax,
        cast(sum(tax_amount_exact) * 1000000000000 as hugeint) as exact_units
    from itemised_by_check
    group by restaurant_guid, business_date, tax_rate_guid, is_facilitator_tax
),

-- rounded once per rate and day: the day's rate cents (Σ check.taxAmount less the real
-- differences) shared over the rates in proportion to their exact sums, largest remainder
-- (ties by tax rate), so the rate lines add up to exactly that. Where the exact sums add up to
-- nothing, each rate is rounded on its own and the rest is not itemised.
rate_quotas as (
    select
        rate_sums.*,
        day_totals.tax_cents - day_totals.not_itemised_cents as rate_cents,
        sum(rate_sums.exact_units) over (
            partition by rate_sums.restaurant_guid, rate_sums.business_date
        ) as day_units
    from rate_sums
    inner join day_totals
        on rate_sums.restaurant_guid = day_totals.restaurant_guid
        and rate_sums.business_date = day_totals.business_date
),

rate_floors as (
    select
        *,
        rate_cents * exact_units * sign(day_units) as quota_numerator,
        abs(day_units) as quota_denominator
    from rate_quotas
),

rate_remainders as (
    select
        *,
        case
            when quota_denominator = 0 then null
            when quota_numerator >= 0 then quota_numerator // quota_denominator
            else -((quota_denominator - 1 - quota_numerator) // quota_denominator)
        end as floor_cents
    from rate_floors
),

rates_ranked as (
    select
        *,
        sum(floor_cents) over (partition by restaurant_guid, business_date) as day_floor_cents,
        row_number() over (
            partition by restaurant_guid, business_date
            order by
                quota_numerator - floor_cents * quota_denominator desc,
                tax_rate_guid asc nulls last,
                is_facilitator_tax asc
        ) as remainder_rank
    from rate_remainders
),

rates_rounded as (
    select
        restaurant_guid,
        business_date,
        tax_rate_guid,
        is_facilitator_tax,
        case
            when quota_denominator = 0
                then {{ finance_div_half_even('exact_units', '10000000000') }}
            else floor_cents
                + case when remainder_rank <= rate_cents - day_floor_cents then 1 else 0 end
        end as rounded_cents,
        exact_units
    from rates_ranked
),

-- one leg per applied tax, in cents: each rounded on its own, the rate's rounding on its largest
-- (so a day's document count stays one per applied tax)
rate_legs as (
    select
        itemised_by_check.restaurant_guid,
        itemised_by_check.business_date,
        itemised_by_check.tax_rate_guid,
        itemised_by_check.name,
        itemised_by_check.is_facilitator_tax,
        round(itemised_by_check.tax_amount_exact, 2) as leg_amount,
        rates_rounded.rounded_cents,
        row_number() over (
            partition by
                itemised_by_check.restaurant_guid,
                itemised_by_check.business_date,
                itemised_by_check.tax_rate_guid,
                itemised_by_check.is_facilitator_tax
            order by
                abs(itemised_by_check.tax_amount_exact) desc,
                itemised_by_check.applied_tax_key asc
        ) as leg_rank
    from itemised_by_check
    inner join rates_rounded
        on itemised_by_check.restaurant_guid = rates_rounded.restaurant_guid
        and itemised_by_check.business_date = rates_rounded.business_date
        and itemised_by_check.tax_rate_guid is not distinct from rates_rounded.tax_rate_guid
        and itemised_by_check.is_facilitator_tax = rates_rounded.is_facilitator_tax
),

rate_taxes as (
    select
        restaurant_guid,
        tax_rate_guid,
        name,
        is_facilitator_tax,
        leg_amount
        + case
            when leg_rank = 1
                then {{ finance_from_cents('rounded_cents') }} - sum(leg_amount) over (
                    partition by restaurant_guid, business_date, tax_rate_guid, is_facilitator_tax
                )
            else 0
        end as tax_amount,
        business_date
    from rate_legs
),

-- what the rate lines leave of Σ check.taxAmount: one leg per check with a real difference
-- (the day's rounding on the largest), or one for the day where no check has one
rate_day_totals as (
    select
        restaurant_guid,
        business_date,
        sum(rounded_cents) as rounded_cents
    from rates_rounded
    group by restaurant_guid, business_date
),

not_itemised_days as (
    select
        day_totals.restaurant_guid,
        day_totals.business_date,
        day_totals.tax_cents - coalesce(rate_day_totals.rounded_cents, 0) as not_itemised_cents
    from day_totals
    left join rate_day_totals
        on day_totals.restaurant_guid = rate_day_totals.restaurant_guid
        and day_totals.business_date = rate_day_totals.business_date
),

not_itemised_legs as (
    select
        check_differences.restaurant_guid,
        check_differences.business_date,
        round(check_differences.difference_exact, 2) as leg_amount,
        row_number() over (
            partition by check_differences.restaurant_guid, check_differences.business_date
            order by abs(check_differences.difference_exact) desc, check_differences.check_guid asc
        ) as leg_rank
    from check_differences
),

not_itemised_taxes as (
    select
        not_itemised_days.restaurant_guid,
        cast(null as varchar) as tax_rate_guid,
        'Tax not itemised by rate' as name,
        false as is_facilitator_tax,
        coalesce(not_itemised_legs.leg_amount, 0)
        + case
            when coalesce(not_itemised_legs.leg_rank, 1) = 1
                then {{ finance_from_cents('not_itemised_days.not_itemised_cents') }}
                    - coalesce(sum(not_itemised_legs.leg_amount) over (
                        partition by
                            not_itemised_days.restaurant_guid,
                            not_itemised_days.business_date
                    ), 0)
            else 0
        end as tax_amount,
        not_itemised_days.business_date
    from not_itemised_days
    left join not_itemised_legs
        on not_itemised_days.restaurant_guid = not_itemised_legs.restaurant_guid
        and not_itemised_days.business_date = not_itemised_legs.business_date
    where not_itemised_legs.leg_rank is not null
       or not_itemised_days.not_itemised_cents <> 0
),

all_taxes as (
    select * from rate_taxes
    union all
    select * from not_itemised_taxes
),

legs as (
    select
        {{ finance_leg_columns(
            line_kind="case when is_facilitator_tax then 'facilitator_tax' else 'tax' end",
            entry_side="'credit'",
            entry_source="'applied_tax'",
            account_source="case when is_facilitator_tax then 'facilitator_tax' else 'tax_rate' end",
            tax_rate_guid="tax_rate_guid",
            source_name="name",
            amount="tax_amount",
        ) }}
    from all_taxes
),

final as (
    {{ finance_aggregate_legs('legs', 'days') }}
)

select * from final
