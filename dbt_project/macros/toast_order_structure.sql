{#
    The shape of a Toast Order document, for DuckDB's from_json (one parse per order, in
    base_toast__orders). Only the fields closeout reads are listed; the raw JSON keeps the rest.

    Every JSON number is read as VARCHAR: DuckDB fills it with the number's text (what `->>`
    returns), and the money() / rate_decimal() / quantity_decimal() macros cast that text to
    DECIMAL. Flags are BOOLEAN (a JSON null stays null; staging coalesces it to false).
    `modifiers` stays JSON: modifiers nest to any depth, so they are parsed with
    toast_selection_structure() where they are walked (macros/toast_selection_tree.sql).

    from_json is lenient: a field of an unexpected JSON type becomes null rather than failing the
    build; the not_null tests in _toast__models.yml are where that would show.
#}

{% macro _toast_ref() -%}
    {{ return({"guid": "VARCHAR"}) }}
{%- endmacro %}

{% macro _toast_applied_tax_structure() -%}
    {{ return({
        "guid": "VARCHAR",
        "taxRate": _toast_ref(),
        "name": "VARCHAR",
        "displayName": "VARCHAR",
        "rate": "VARCHAR",
        "taxAmount": "VARCHAR",
        "type": "VARCHAR",
        "facilitatorCollectAndRemitTax": "BOOLEAN",
        "jurisdiction": "VARCHAR",
        "jurisdictionType": "VARCHAR",
    }) }}
{%- endmacro %}

{% macro _toast_applied_discount_structure() -%}
    {{ return({
        "guid": "VARCHAR",
        "name": "VARCHAR",
        "discount": _toast_ref(),
        "discountType": "VARCHAR",
        "discountPercent": "VARCHAR",
        "discountAmount": "VARCHAR",
        "nonTaxDiscountAmount": "VARCHAR",
        "processingState": "VARCHAR",
        "approver": _toast_ref(),
    }) }}
{%- endmacro %}

{% macro _toast_refund_details_structure() -%}
    {{ return({
        "refundAmount": "VARCHAR",
        "taxRefundAmount": "VARCHAR",
        "refundTransaction": _toast_ref(),
    }) }}
{%- endmacro %}

{# A menu item selection; also the shape of each element of a selection's `modifiers`. #}
{% macro _toast_selection_dict() -%}
    {{ return({
        "guid": "VARCHAR",
        "item": _toast_ref(),
        "itemGroup": _toast_ref(),
        "optionGroup": _toast_ref(),
        "preModifier": _toast_ref(),
        "displayName": "VARCHAR",
        "selectionType": "VARCHAR",
        "salesCategory": _toast_ref(),
        "diningOption": _toast_ref(),
        "plu": "VARCHAR",
        "quantity": "VARCHAR",
        "unitOfMeasure": "VARCHAR",
        "seatNumber": "VARCHAR",
        "receiptLinePrice": "VARCHAR",
        "preDiscountPrice": "VARCHAR",
        "price": "VARCHAR",
        "tax": "VARCHAR",
        "taxInclusion": "VARCHAR",
        "deferred": "BOOLEAN",
        "voided": "BOOLEAN",
        "voidDate": "VARCHAR",
        "voidBusinessDate": "VARCHAR",
        "voidReason": _toast_ref(),
        "refundDetails": _toast_refund_details_structure(),
        "fulfillmentStatus": "VARCHAR",
        "createdDate": "VARCHAR",
        "modifiedDate": "VARCHAR",
        "appliedTaxes": [_toast_applied_tax_structure()],
        "appliedDiscounts": [_toast_applied_discount_structure()],
        "modifiers": "JSON",
    }) }}
{%- endmacro %}

{% macro _toast_service_charge_structure() -%}
    {{ return({
        "guid": "VARCHAR",
        "serviceCharge": _toast_ref(),
        "name": "VARCHAR",
        "chargeType": "VARCHAR",
        "chargeAmount": "VARCHAR",
        "serviceChargeCategory": "VARCHAR",
        "serviceChargeCalculation": "VARCHAR",
        "gratuity": "BOOLEAN",
        "taxable": "BOOLEAN",
        "delivery": "BOOLEAN",
        "takeout": "BOOLEAN",
        "dineIn": "BOOLEAN",
        "paymentGuid": "VARCHAR",
        "refundDetails": _toast_refund_details_structure(),
        "appliedTaxes": [_toast_applied_tax_structure()],
    }) }}
{%- endmacro %}

{% macro _toast_payment_structure() -%}
    {{ return({
        "guid": "VARCHAR",
        "type": "VARCHAR",
        "amount": "VARCHAR",
        "tipAmount": "VARCHAR",
        "amountTendered": "VARCHAR",
        "paidDate": "VARCHAR",
        "paidBusinessDate": "VARCHAR",
        "cardType": "VARCHAR",
        "cardEntryMode": "VARCHAR",
        "originalProcessingFee": "VARCHAR",
        "mcaRepaymentAmount": "VARCHAR",
        "paymentStatus": "VARCHAR",
        "refundStatus": "VARCHAR",
        "voidInfo": {
            "voidDate": "VARCHAR",
            "voidBusinessDate": "VARCHAR",
            "voidUser": _toast_ref(),
            "voidApprover": _toast_ref(),
            "voidReason": _toast_ref(),
        },
        "refund": {
            "refundAmount": "VARCHAR",
            "tipRefundAmount": "VARCHAR",
            "refundDate": "VARCHAR",
            "refundBusinessDate": "VARCHAR",
            "refundTransaction": _toast_ref(),
        },
        "otherPayment": _toast_ref(),
        "houseAccount": _toast_ref(),
        "cashDrawer": _toast_ref(),
        "server": _toast_ref(),
    }) }}
{%- endmacro %}

{% macro _toast_check_structure() -%}
    {{ return({
        "guid": "VARCHAR",
        "displayNumber": "VARCHAR",
        "tabName": "VARCHAR",
        "openedDate": "VARCHAR",
        "createdDate": "VARCHAR",
        "modifiedDate": "VARCHAR",
        "closedDate": "VARCHAR",
        "paidDate": "VARCHAR",
        "deleted": "BOOLEAN",
        "deletedDate": "VARCHAR",
        "voided": "BOOLEAN",
        "voidDate": "VARCHAR",
        "voidBusinessDate": "VARCHAR",
        "taxExempt": "BOOLEAN",
        "paymentStatus": "VARCHAR",
        "amount": "VARCHAR",
        "taxAmount": "VARCHAR",
        "totalAmount": "VARCHAR",
        "customer": _toast_ref(),
        "openedBy": _toast_ref(),
        "appliedDiscounts": [_toast_applied_discount_structure()],
        "appliedServiceCharges": [_toast_service_charge_structure()],
        "selections": [_toast_selection_dict()],
        "payments": [_toast_payment_structure()],
    }) }}
{%- endmacro %}

{# The whole order, as a from_json structure string. #}
{% macro toast_order_structure() -%}
    {%- set order = {
        "guid": "VARCHAR",
        "displayNumber": "VARCHAR",
        "source": "VARCHAR",
        "businessDate": "VARCHAR",
        "openedDate": "VARCHAR",
        "createdDate": "VARCHAR",
        "modifiedDate": "VARCHAR",
        "closedDate": "VARCHAR",
        "paidDate": "VARCHAR",
        "promisedDate": "VARCHAR",
        "voided": "BOOLEAN",
        "voidDate": "VARCHAR",
        "voidBusinessDate": "VARCHAR",
        "deleted": "BOOLEAN",
        "deletedDate": "VARCHAR",
        "excessFood": "BOOLEAN",
        "approvalStatus": "VARCHAR",
        "numberOfGuests": "VARCHAR",
        "createdInTestMode": "BOOLEAN",
        "revenueCenter": _toast_ref(),
        "diningOption": _toast_ref(),
        "restaurantService": _toast_ref(),
        "server": _toast_ref(),
        "checks": [_toast_check_structure()],
    } -%}
    {{- return(tojson(order)) -}}
{%- endmacro %}

{# The list of selections (a `modifiers` array), as a from_json structure string. #}
{% macro toast_selection_list_structure() -%}
    {{- return(tojson([_toast_selection_dict()])) -}}
{%- endmacro %}

{#
    on-run-start: the same parse as a DuckDB macro in the staging schema,
    `staging.toast_parse_order(order_json)`, for the staging unit tests' fixtures (a unit test's
    rows cannot call dbt macros) and for analysts exploring raw orders.
#}
{% macro toast_create_parse_macro() -%}
    {%- set staging_schema = adapter.quote(target.database) ~ '.'
        ~ adapter.quote(generate_schema_name('staging', none) | trim) -%}
    create schema if not exists {{ staging_schema }};
    create or replace macro {{ staging_schema }}.toast_parse_order(order_json) as
        from_json(order_json, '{{ toast_order_structure() }}')
{%- endmacro %}
