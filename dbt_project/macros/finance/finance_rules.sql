{#
    How a service charge is posted (ACCOUNTING.md, "Service charges"): gratuity is owed to staff,
    fundraising to the charity, surcharges and cash rounding have their own accounts, anything
    else is service charge revenue. `gratuity` wins over the category.
#}
{% macro finance_service_charge_kind(gratuity, category) -%}
    case
        when coalesce({{ gratuity }}, false) then 'gratuity'
        when {{ category }} = 'FUNDRAISING_CAMPAIGN' then 'donations'
        when {{ category }} = 'CREDIT_CARD_SURCHARGE' then 'credit_card_surcharge'
        when {{ category }} = 'CASH_ROUNDING' then 'cash_rounding'
        else 'service_charge'
    end
{%- endmacro %}

{# The fixed account role of a service charge kind; null when it is mapped per charge. #}
{% macro finance_service_charge_role(kind) -%}
    case {{ kind }}
        when 'gratuity' then 'gratuity_payable'
        when 'donations' then 'donations_payable'
    end
{%- endmacro %}

{#
    What a top-level selection is for the journal: deferred (gift card sold or reloaded: a
    liability), a house account payment (settles a receivable) or a sale. A selection named
    "Gift Card" is a gift card sale too, as Toast's net sales calculation treats it
    (apiDevGuide-apiOrdersNetSalesCalculation.md), so the journal and the tie agree.
#}
{% macro finance_sale_kind(deferred, selection_type, display_name) -%}
    case
        when coalesce({{ deferred }}, false)
            or coalesce({{ selection_type }} in ('TOAST_CARD_SELL', 'TOAST_CARD_RELOAD'), false)
            or coalesce({{ display_name }} = 'Gift Card', false) then 'gift_card_sales'
        when coalesce({{ selection_type }} = 'HOUSE_ACCOUNT_PAY_BALANCE', false)
            then 'house_account_payments'
        else 'sales'
    end
{%- endmacro %}

{#
    Integer division rounded half to even (banker's rounding), exact for any HUGEINT: used to
    share cents. `numerator` and `denominator` are integer expressions, denominator > 0.
#}
{% macro finance_div_half_even(numerator, denominator) -%}
    (sign({{ numerator }}) * (
        abs({{ numerator }}) // ({{ denominator }})
        + case
            when 2 * (abs({{ numerator }}) % ({{ denominator }})) > ({{ denominator }}) then 1
            when 2 * (abs({{ numerator }}) % ({{ denominator }})) = ({{ denominator }})
                and (abs({{ numerator }}) // ({{ denominator }})) % 2 = 1 then 1
            else 0
          end
    ))
{%- endmacro %}

{# A decimal(18,2) amount as whole cents (HUGEINT), and back. #}
{% macro finance_to_cents(expr) -%}
    cast(round(cast({{ expr }} as decimal(18, 2)) * 100) as hugeint)
{%- endmacro %}

{% macro finance_from_cents(expr) -%}
    cast(cast({{ expr }} as decimal(38, 0)) * 0.01 as decimal(18, 2))
{%- endmacro %}

{#
    What a payment is for the journal (ACCOUNTING.md "Real Toast data", Payment.paymentStatus of
    Toast's orders spec 2.9.0):
      tender     CAPTURED, AUTHORIZED (approved, captured at closeout), CAPTURE_IN_PROGRESS;
                 and a non-card payment with no status (Toast gives paymentStatus for CREDIT
                 payments; cash and other tenders may come without one)
      left_out   moved no money: voided (VOIDED, a voidInfo or a void business date), DENIED,
                 CANCELLED, ERROR
      unsettled  OPEN, PROCESSING, ERROR_NETWORK, PROCESSING_VOID, the deprecated
                 AUTHORIZED_AT_RISK / VOIDED_AT_RISK, a card payment with no status, and any
                 value the spec does not list: never silently a tender, the day is held naming
                 the check and the status until Toast settles it (int_unsettled_checks_listed).
    `payments` is the alias of a stg_toast__payments relation.
#}
{% macro finance_payment_class(payments='payments') -%}
    case
        when coalesce({{ payments }}.is_voided, false)
            or {{ payments }}.void_business_date is not null then 'left_out'
        when {{ payments }}.payment_status in ('CAPTURED', 'AUTHORIZED', 'CAPTURE_IN_PROGRESS')
            then 'tender'
        when {{ payments }}.payment_status in ('VOIDED', 'DENIED', 'CANCELLED', 'ERROR')
            then 'left_out'
        when {{ payments }}.payment_status is null
            and coalesce({{ payments }}.payment_type, '') <> 'CREDIT' then 'tender'
        else 'unsettled'
    end
{%- endmacro %}

{#
    A payment the journal counts: a tender, or an unsettled payment (counted as Toast reports it
    now, while its day is held), not one left out (finance_payment_class).
#}
{% macro finance_payment_is_active(payments='payments') -%}
    ({{ finance_payment_class(payments) }} <> 'left_out')
{%- endmacro %}

{# A value as one CSV field (quoted when it holds a comma, quote or newline; null is empty). #}
{% macro finance_csv_field(expr) -%}
    case
        when {{ expr }} is null then ''
        when regexp_matches({{ expr }}, '[,"\n\r]')
            then '"' || replace({{ expr }}, '"', '""') || '"'
        else {{ expr }}
    end
{%- endmacro %}

{# Fields as one CSV line: finance_csv_row(['a', 'b']) #}
{% macro finance_csv_row(exprs) -%}
    {%- for expr in exprs -%}
        {{ finance_csv_field(expr) }}{% if not loop.last %} || ',' || {% endif %}
    {%- endfor -%}
{%- endmacro %}
