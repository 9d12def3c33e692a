{#
    Staging-level ties to Toast's own formulas (apiDevGuide-apiOrdersOrderObjectSummary.md), per
    check: proof that checks, selections, service charges and taxes were unnested completely and
    that modifiers were not counted twice.

        check.amount    = Σ price of its non-voided top-level selections
                          + Σ chargeAmount of its non-gratuity service charges
        check.taxAmount = Σ tax of its non-voided top-level selections
                          + Σ taxAmount of its service charges' applied taxes

    A failing row names the check and both sides. Only orders loaded within the test window are
    compared (macros/toast_test_scope.sql; every row of an order carries the order's load id),
    so the nightly cost does not grow with history. The line models are arguments, so the yml
    names them (`selections: ref('stg_toast__selections')`, `applied_service_charges`,
    `applied_taxes`).
#}
{% test toast_check_ties_to_lines(model, selections, applied_service_charges, applied_taxes) %}

{%- set recent = toast_recent_loads_filter() %}

with checks as (

    select *
    from {{ model }}
    where {{ recent }}

),

selections as (

    select
        restaurant_guid,
        check_guid,
        sum(price) as selections_price,
        sum(tax) as selections_tax
    from {{ selections }}
    where not is_modifier
      and not voided
      and {{ recent }}
    group by restaurant_guid, check_guid

),

service_charges as (

    select
        restaurant_guid,
        check_guid,
        sum(charge_amount) filter (where not gratuity) as non_gratuity_charges
    from {{ applied_service_charges }}
    where {{ recent }}
    group by restaurant_guid, check_guid

),

service_charge_taxes as (

    select
        restaurant_guid,
        check_guid,
        sum(tax_amount) as service_charge_tax
    from {{ applied_taxes }}
    where taxed_kind = 'service_charge'
      and {{ recent }}
    group by restaurant_guid, check_guid

),

compared as (

    select
        checks.restaurant_guid,
        checks.order_guid,
        checks.check_guid,
        checks.amount,
        coalesce(selections.selections_price, 0)
            + coalesce(service_charges.non_gratuity_charges, 0) as amount_from_lines,
        checks.tax_amount,
        coalesce(selections.selections_tax, 0)
            + coalesce(service_charge_taxes.service_charge_tax, 0) as tax_amount_from_lines
    from checks
    left join selections
        on checks.restaurant_guid = selections.restaurant_guid
        and checks.check_guid = selections.check_guid
    left join service_charges
        on checks.restaurant_guid = service_charges.restaurant_guid
        and checks.check_guid = service_charges.check_guid
    left join service_charge_taxes
        on checks.restaurant_guid = service_charge_taxes.restaurant_guid
        and checks.check_guid = service_charge_taxes.check_guid

)

select *
from compared
where amount is distinct from amount_from_lines
   or tax_amount is distinct from tax_amount_from_lines

{% endtest %}
