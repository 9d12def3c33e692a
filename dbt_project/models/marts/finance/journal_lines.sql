-- The daily journals, line by line: what the posting step sends to the ERP and what analysts
-- read. One sales journal per Toast location and business date
-- (journal_id = restaurant_guid:yyyy-mm-dd:sales), and a labor accrual journal
-- (...:labor) where settings ask for one; its lines are the journal legs of every
-- source document type (int_journal_legs_unioned) summed per line kind, account, dimensions and
-- source, with the account and dimension each mapping seed gives (int_account_mappings_resolved),
-- plus one over/short line for whatever still separates debits from credits.
--
-- Every line is on the side that makes it positive (a negative cash rounding credit becomes a
-- debit); debit and credit are never both non-zero and never negative. A line whose account or
-- revenue center dimension did not resolve posts to the fallback role's account, has
-- is_mapped = false and says what to add where (unmapped_reason); its journal is held
-- (journals.status).
--
-- Sales, discount and service charge lines (account_source sales_category, discount,
-- service_charge) carry a revenue center dimension; when the order had none
-- (`revenueCenter: null`) it is the '(none)' revenue center's mapped value, and without that
-- row the line is unmapped: never posted with a silently empty dimension.
--
-- Kept per journal (macros/finance/finance_journal_days.sql): a night rebuilds the sales
-- journals of the days a load changed and every labor journal, and every journal when a mapping,
-- setting or Toast name it reads (its lookups) changed, so an edit applies to every unposted
-- day at once.

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ finance_delete_rebuilt_journals() }}",
    post_hook=[
        "{{ finance_queue_rebuilt_journals() }}",
        "{{ finance_record_journal_state() }}",
    ],
) }}

{%- set state = finance_journal_state() if is_incremental() else {'rebuild_all': true} %}

with

legs as (
    -- the alias is used in the macro's condition
    select * from {{ ref('int_journal_legs_unioned') }} as unioned  -- noqa: AL05
    where {{ finance_journal_is_rebuilt('unioned', state) }}
),
{% for name, lookup_sql in finance_journal_lookups().items() %}
{{ name }} as (
    {{ lookup_sql }}
),
{% endfor %}
presented as (
    select
        legs.*,
        coalesce(settings.discount_presentation, 'gross') as discount_presentation,
        case
            when legs.line_kind = 'discount' and settings.discount_presentation = 'net'
                then 'sales'
            else legs.line_kind
        end as presented_line_kind,
        case legs.account_source
            when 'role' then 'account_role'
            when 'sales_category' then 'sales_category_revenue'
            when 'discount' then
                case when settings.discount_presentation = 'net'
                    then 'sales_category_revenue' else 'sales_category_discount' end
            when 'service_charge' then 'service_charge'
            when 'tax_rate' then 'tax_rate'
            when 'facilitator_tax' then 'facilitator_tax'
            when 'payment_type' then 'payment_type'
            when 'job' then 'job'
        end as mapping_kind,
        case legs.account_source
            when 'role' then legs.account_role
            when 'sales_category' then coalesce(legs.sales_category_guid, '(none)')
            when 'discount' then coalesce(legs.sales_category_guid, '(none)')
            when 'service_charge' then coalesce(legs.service_charge_guid, '(none)') || '|'
                || coalesce(legs.service_charge_category, '')
            when 'tax_rate' then coalesce(legs.tax_rate_guid, '(none)')
            when 'facilitator_tax' then coalesce(legs.tax_rate_guid, '(none)')
            when 'payment_type' then coalesce(legs.payment_type, '') || '|'
                || coalesce(legs.card_type, '') || '|' || coalesce(legs.other_payment_guid, '')
            when 'job' then legs.job_guid
        end as mapping_key,
        case when legs.account_source in ('sales_category', 'discount', 'service_charge')
            then coalesce(legs.revenue_center_guid, '(none)') end as revenue_center_key
    from legs
    left join settings
        on legs.restaurant_guid = settings.restaurant_guid
),

mapped as (
    select
        presented.restaurant_guid,
        presented.business_date,
        presented.journal_type,
        presented.presented_line_kind as line_kind,
        presented.debit,
        presented.credit,
        presented.payment_type,
        presented.card_type,
        alternate_payment_types.name as alternate_payment_type_name,
        case when presented.sales_category_guid is not null or presented.account_source
                in ('sales_category', 'discount')
            then category.source_name end as sales_category_name,
        discount_override.source_name as discount_name,
        case when presented.service_charge_guid is not null
            then coalesce(service_charge.source_name, presented.source_name) end
            as service_charge_name,
        case when presented.account_source in ('tax_rate', 'facilitator_tax')
            then coalesce(account_mapping.source_name, presented.source_name) end as tax_rate_name,
        case when presented.account_source = 'job'
            then coalesce(account_mapping.source_name, presented.job_guid) end as job_name,
        revenue_center.source_name as revenue_center_name,
        revenue_center.dimension_value as revenue_center_dimension,
        case
            when discount_override.is_mapped then discount_override.account_code
            when account_mapping.is_mapped then account_mapping.account_code
            else fallback.account_code
        end as account_code,
        coalesce(discount_override.is_mapped, false) or coalesce(account_mapping.is_mapped, false)
            as is_account_mapped,
        presented.revenue_center_key is null
            or coalesce(revenue_center.is_mapped, false) as is_dimension_mapped,
        nullif(concat_ws('; ',
            case
                when not (coalesce(discount_override.is_mapped, false)
                          or coalesce(account_mapping.is_mapped, false))
                    then coalesce(account_mapping.unmapped_reason,
                        'unmapped: no mapping for ' || presented.mapping_kind || ' '
                        || coalesce(presented.mapping_key, '?'))
            end,
            case
                when presented.revenue_center_key is not null
                    and not coalesce(revenue_center.is_mapped, false)
                    then coalesce(revenue_center.unmapped_reason,
                        'unmapped: no dimension value for revenue center '
                        || presented.revenue_center_key)
            end
        ), '') as unmapped_reason,
        case
            when not (coalesce(discount_override.is_mapped, false)
                      or coalesce(account_mapping.is_mapped, false))
                then account_mapping.fix_seed_file
            when presented.revenue_center_key is not null
                and not coalesce(revenue_center.is_mapped, false)
                then coalesce(revenue_center.fix_seed_file, 'revenue_center_dimensions.csv')
        end as seed_file,
        case
            when not (coalesce(discount_override.is_mapped, false)
                      or coalesce(account_mapping.is_mapped, false))
                then account_mapping.suggested_row
            when presented.revenue_center_key is not null
                and not coalesce(revenue_center.is_mapped, false)
                then revenue_center.suggested_row
        end as suggested_row
    from presented
    left join mappings as account_mapping
        on presented.restaurant_guid = account_mapping.restaurant_guid
        and presented.mapping_kind = account_mapping.mapping_kind
        and presented.mapping_key = account_mapping.source_key
    left join mappings as discount_override
        on presented.account_source = 'discount'
        and presented.discount_presentation = 'gross'
        and presented.restaurant_guid = discount_override.restaurant_guid
        and discount_override.mapping_kind = 'discount'
        and coalesce(presented.discount_guid, '(none)') = discount_override.source_key
        and discount_override.is_mapped
    left join mappings as fallback
        on presented.restaurant_guid = fallback.restaurant_guid
        and fallback.mapping_kind = 'account_role'
        and account_mapping.fallback_role = fallback.source_key
    left join mappings as category
        on presented.restaurant_guid = category.restaurant_guid
        and category.mapping_kind = 'sales_category_revenue'
        and coalesce(presented.sales_category_guid, '(none)') = category.source_key
    left join mappings as service_charge
        on presented.restaurant_guid = service_charge.restaurant_guid
        and service_charge.mapping_kind = 'service_charge'
        and coalesce(presented.service_charge_guid, '(none)') || '|'
            || coalesce(presented.service_charge_category, '') = service_charge.source_key
    left join mappings as revenue_center
        on presented.restaurant_guid = revenue_center.restaurant_guid
        and revenue_center.mapping_kind = 'revenue_center'
        and presented.revenue_center_key = revenue_center.source_key
    left join alternate_payment_types
        on presented.restaurant_guid = alternate_payment_types.restaurant_guid
        and presented.other_payment_guid = alternate_payment_types.alternate_payment_type_guid
),

summed as (
    select
        restaurant_guid,
        business_date,
        journal_type,
        line_kind,
        account_code,
        revenue_center_dimension,
        revenue_center_name,
        sales_category_name,
        discount_name,
        service_charge_name,
        tax_rate_name,
        payment_type,
        card_type,
        alternate_payment_type_name,
        job_name,
        is_account_mapped and is_dimension_mapped as is_mapped,
        unmapped_reason,
        seed_file,
        suggested_row,
        sum(credit) - sum(debit) as net_credit
    from mapped
    group by all
),

over_short as (
    select
        summed.restaurant_guid,
        summed.business_date,
        summed.journal_type,
        'over_short' as line_kind,
        role.account_code,
        null as revenue_center_dimension,
        null as revenue_center_name,
        null as sales_category_name,
        null as discount_name,
        null as service_charge_name,
        null as tax_rate_name,
        null as payment_type,
        null as card_type,
        null as alternate_payment_type_name,
        null as job_name,
        coalesce(role.is_mapped, false) as is_mapped,
        case when not coalesce(role.is_mapped, false) then role.unmapped_reason end
            as unmapped_reason,
        case when not coalesce(role.is_mapped, false) then role.fix_seed_file end as seed_file,
        case when not coalesce(role.is_mapped, false) then role.suggested_row end as suggested_row,
        -sum(summed.net_credit) as net_credit
    from summed
    left join mappings as role
        on summed.restaurant_guid = role.restaurant_guid
        and role.mapping_kind = 'account_role'
        and role.source_key = 'over_short'
    group by all
    having sum(summed.net_credit) <> 0
),

all_lines as (
    select * from summed
    union all
    select * from over_short
),

with_journal as (
    select
        all_lines.*,
        all_lines.restaurant_guid || ':' || strftime(all_lines.business_date, '%Y-%m-%d')
            || ':' || all_lines.journal_type as journal_id,
        case all_lines.line_kind
            when 'sales' then 10
            when 'discount' then 20
            when 'gift_card_sales' then 30
            when 'house_account_payments' then 40
            when 'service_charge' then 50
            when 'credit_card_surcharge' then 51
            when 'cash_rounding' then 52
            when 'gratuity' then 60
            when 'donations' then 61
            when 'tax' then 70
            when 'facilitator_tax' then 71
            when 'tip' then 80
            when 'tender' then 90
            when 'unpaid_checks' then 100
            when 'unpaid_checks_collected' then 101
            when 'refund_sales' then 110
            when 'refund_gift_card_sales' then 111
            when 'refund_house_account_payments' then 112
            when 'refund_service_charge' then 113
            when 'refund_credit_card_surcharge' then 114
            when 'refund_cash_rounding' then 115
            when 'refund_gratuity' then 116
            when 'refund_donations' then 117
            when 'refund_tax' then 118
            when 'refund_facilitator_tax' then 119
            when 'refund_tip' then 120
            when 'refund_not_itemised' then 121
            when 'refund_tender' then 130
            when 'labor_expense' then 300
            when 'accrued_payroll' then 310
            when 'over_short' then 900
            else 190
        end as line_kind_order,
        case all_lines.line_kind
            when 'sales' then
                case when coalesce(settings.discount_presentation, 'gross') = 'net'
                    then 'Net sales' else 'Gross sales' end
            when 'discount' then 'Discounts'
            when 'gift_card_sales' then 'Gift cards sold and reloaded'
            when 'house_account_payments' then 'House account payments received'
            when 'service_charge' then 'Service charges'
            when 'credit_card_surcharge' then 'Credit card surcharges'
            when 'cash_rounding' then 'Cash rounding'
            when 'gratuity' then 'Gratuity owed to staff'
            when 'donations' then 'Donations collected'
            when 'tax' then 'Sales tax'
            when 'facilitator_tax' then 'Sales tax remitted by marketplace facilitator'
            when 'tip' then 'Tips owed to staff'
            when 'tender' then 'Tenders'
            when 'unpaid_checks' then 'Checks unpaid at close'
            when 'unpaid_checks_collected' then 'Payments on checks unpaid at an earlier close'
            when 'refund_sales' then 'Refunded sales'
            when 'refund_gift_card_sales' then 'Refunded gift cards'
            when 'refund_house_account_payments' then 'Refunded house account payments'
            when 'refund_service_charge' then 'Refunded service charges'
            when 'refund_credit_card_surcharge' then 'Refunded credit card surcharges'
            when 'refund_cash_rounding' then 'Refunded cash rounding'
            when 'refund_gratuity' then 'Refunded gratuity'
            when 'refund_donations' then 'Refunded donations'
            when 'refund_tax' then 'Refunded sales tax'
            when 'refund_facilitator_tax' then 'Refunded facilitator-remitted sales tax'
            when 'refund_tip' then 'Refunded tips'
            when 'refund_not_itemised' then 'Refunds not tied to items (custom amount)'
            when 'refund_tender' then 'Refunds paid out'
            when 'labor_expense' then 'Labor'
            when 'accrued_payroll' then 'Accrued payroll'
            when 'over_short' then 'Over/short'
            else all_lines.line_kind
        end as line_label
    from all_lines
    left join settings
        on all_lines.restaurant_guid = settings.restaurant_guid
    where all_lines.net_credit <> 0
),

described as (
    select
        with_journal.*,
        line_label || coalesce(': ' || nullif(concat_ws(' / ',
            job_name,
            discount_name,
            sales_category_name,
            service_charge_name,
            tax_rate_name,
            nullif(concat_ws(' ', payment_type, card_type, alternate_payment_type_name), ''),
            revenue_center_name
        ), ''), '') as description
    from with_journal
),

numbered as (
    select
        described.*,
        row_number() over (
            partition by journal_id
            order by line_kind_order, account_code nulls last, description,
                revenue_center_dimension nulls first
        ) as line_number
    from described
),

final as (
    select
        numbered.journal_id || ':' || lpad(cast(numbered.line_number as varchar), 4, '0')
            as journal_line_id,
        numbered.journal_id,
        numbered.restaurant_guid,
        numbered.business_date,
        numbered.journal_type,
        cast(numbered.line_number as integer) as line_number,
        numbered.line_kind,
        numbered.account_code,
        chart_of_accounts.account_name,
        chart_of_accounts.account_type,
        locations.erp_company as company,
        locations.location_dimension,
        numbered.revenue_center_dimension,
        numbered.description,
        {{ money('case when numbered.net_credit < 0 then -numbered.net_credit else 0 end') }}
            as debit,
        {{ money('case when numbered.net_credit > 0 then numbered.net_credit else 0 end') }}
            as credit,
        coalesce(locations.currency, settings.currency, restaurants.currency) as currency,
        numbered.revenue_center_name,
        numbered.sales_category_name,
        numbered.discount_name,
        numbered.service_charge_name,
        numbered.tax_rate_name,
        numbered.payment_type,
        numbered.card_type,
        numbered.alternate_payment_type_name,
        numbered.job_name,
        numbered.is_mapped,
        numbered.unmapped_reason,
        numbered.seed_file,
        numbered.suggested_row
    from numbered
    left join chart_of_accounts
        on numbered.account_code = chart_of_accounts.account_code
    left join locations
        on numbered.restaurant_guid = locations.restaurant_guid
    left join settings
        on numbered.restaurant_guid = settings.restaurant_guid
    left join restaurants
        on numbered.restaurant_guid = restaurants.restaurant_guid
)

select * from final
