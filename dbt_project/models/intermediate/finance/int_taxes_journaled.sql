{{ config(**finance_leg_model_config()) }}

-- Sales tax legs (ACCOUNTING.md rule 6), per business day: a credit per tax rate of the applied
-- taxes int_taxes_itemised keeps per order (included selections, their modifiers at any depth,
-- service charges of included checks), for the days a load changed.
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

with

days as (
    {{ finance_days_to_build(ref('stg_toast__changed_days')) }}
),

-- the applied taxes and included checks of the days being built
itemised_by_check as (
    select itemised.*
    from {{ ref('int_taxes_itemised') }} as itemised
    inner join days
        on itemised.restaurant_guid = days.restaurant_guid
        and itemised.business_date = days.business_date
    where {{ finance_on_or_after_first_day(
        'itemised.business_date', ref('stg_toast__changed_days')) }}
),

included_checks as (
    select checks.*
    from {{ ref('int_checks_classified') }} as checks
    inner join days
        on checks.restaurant_guid = days.restaurant_guid
        and checks.business_date = days.business_date
    where checks.is_included
      and {{ finance_on_or_after_first_day(
          'checks.business_date', ref('stg_toast__changed_days')) }}
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

-- one line per rate and day: its rounded cents, and as documents its applied taxes
rate_documents as (
    select
        restaurant_guid,
        business_date,
        tax_rate_guid,
        is_facilitator_tax,
        max(name) filter (where tax_amount_exact is not null) as name,
        count(tax_amount_exact) as document_count
    from itemised_by_check
    group by restaurant_guid, business_date, tax_rate_guid, is_facilitator_tax
),

rate_taxes as (
    select
        rates_rounded.restaurant_guid,
        rates_rounded.tax_rate_guid,
        rate_documents.name,
        rates_rounded.is_facilitator_tax,
        {{ finance_from_cents('rates_rounded.rounded_cents') }} as tax_amount,
        rate_documents.document_count,
        rates_rounded.business_date
    from rates_rounded
    inner join rate_documents
        on rates_rounded.restaurant_guid = rate_documents.restaurant_guid
        and rates_rounded.business_date = rate_documents.business_date
        and rates_rounded.tax_rate_guid is not distinct from rate_documents.tax_rate_guid
        and rates_rounded.is_facilitator_tax = rate_documents.is_facilitator_tax
),

-- what the rate lines leave of Σ check.taxAmount: one line for the day, whose documents are the
-- checks with a real difference (one where no check has one)
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

difference_checks as (
    select
        restaurant_guid,
        business_date,
        count(*) as check_count
    from check_differences
    group by restaurant_guid, business_date
),

not_itemised_taxes as (
    select
        not_itemised_days.restaurant_guid,
        cast(null as varchar) as tax_rate_guid,
        'Tax not itemised by rate' as name,
        false as is_facilitator_tax,
        {{ finance_from_cents('not_itemised_days.not_itemised_cents') }} as tax_amount,
        coalesce(difference_checks.check_count, 1) as document_count,
        not_itemised_days.business_date
    from not_itemised_days
    left join difference_checks
        on not_itemised_days.restaurant_guid = difference_checks.restaurant_guid
        and not_itemised_days.business_date = difference_checks.business_date
    where difference_checks.check_count is not null
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
            order_guid=none,
        ) }},
        document_count
    from all_taxes
),

final as (
    {{ finance_aggregate_legs('legs', 'days') }}
)

select * from final
