-- One row per journal: what journals and sales_summary need from its lines (totals, version,
-- what is unmapped, the sales journal's figures by line kind), so neither reads every line of
-- the history. Kept per journal: a run recomputes the journals journal_lines queued as rebuilt
-- (macros/finance/finance_journal_days.sql) and drops those left without lines; every journal
-- when this SQL changed.

{%- set rebuild_all = finance_figures_rebuild_all() %}

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ finance_delete_queued_figures() }}",
    post_hook="{{ finance_record_figures_state() }}",
) }}

{%- set credits = "sum(credit - debit) filter (where line_kind in ({}))" %}
{%- set debits = "sum(debit - credit) filter (where line_kind in ({}))" %}

with

lines as (
    -- the alias is used in the macro's condition
    select * from {{ ref('journal_lines') }} as queued_lines  -- noqa: AL05
    where {{ finance_journal_is_queued('queued_lines', rebuild_all) }}
),

final as (
    select
        journal_id,
        restaurant_guid,
        business_date,
        journal_type,
        any_value(company) as company,
        any_value(currency) as currency,
        sum(debit) as total_debit,
        sum(credit) as total_credit,
        count(*) as line_count,
        count(*) filter (where not is_mapped) as unmapped_line_count,
        coalesce(sum(credit - debit) filter (where line_kind = 'over_short'), 0)
            as over_short_amount,
        -- every field the ERP receives, in line order: a change to any line is a new version
        md5(string_agg(
            concat_ws('|', line_number, line_kind, coalesce(account_code, ''),
                coalesce(company, ''), coalesce(location_dimension, ''),
                coalesce(revenue_center_dimension, ''), description, debit, credit,
                coalesce(currency, '')),
            chr(10) order by line_number)) as version,
        -- each unmapped line's reasons, '; ' between (journals splits them)
        string_agg(unmapped_reason, '; ' order by line_number) as unmapped_reasons,
        -- the sales journal's figures, as sales_summary compares them with Toast's
        {{ credits.format("'sales'") }} as sales,
        {{ debits.format("'discount'") }} as discounts,
        {{ credits.format("'service_charge', 'credit_card_surcharge', 'cash_rounding'") }}
            as service_charges,
        {{ credits.format("'gratuity'") }} as gratuity,
        {{ credits.format("'donations'") }} as donations,
        {{ credits.format("'gift_card_sales'") }} as gift_card_sales,
        {{ credits.format("'house_account_payments'") }} as house_account_payments,
        {{ credits.format("'tax', 'facilitator_tax'") }} as tax,
        {{ credits.format("'tip'") }} as tips,
        {{ debits.format("'tender'") }} as tenders,
        {% for payment_type in ['CASH', 'CREDIT', 'GIFTCARD', 'HOUSE_ACCOUNT', 'REWARDCARD',
                                'TOAST_SV', 'OTHER', 'UNDETERMINED'] %}
        sum(debit - credit) filter (
            where line_kind = 'tender' and payment_type = '{{ payment_type }}')
            as tenders_{{ payment_type | lower }},
        {% endfor %}
        {{ credits.format("'refund_tender'") }} as refunds_paid,
        {{ debits.format("'unpaid_checks'") }} as unpaid_checks,
        {{ credits.format("'unpaid_checks_collected'") }} as unpaid_checks_collected,
        {{ credits.format("'over_short'") }} as over_short
    from lines
    group by journal_id, restaurant_guid, business_date, journal_type
)

select * from final
