-- Per location and business date: Toast's own figures by Toast's formulas
-- (int_toast_days_summarized) beside the sales journal's corresponding totals
-- (journal_lines, by line kind) and their difference (journal - Toast), so an analyst can see
-- any difference and where it comes from. For a ready journal every difference is zero: gross
-- sales and discounts (gross presentation), net sales, service charges, gratuity, donations,
-- gift cards sold, house account payments, tax, tips, refunds, and tenders in total and per
-- payment type (tests/assert_ready_journals_tie_to_toast.sql).
--
-- Tenders are amount + tip, as the journal debits them. Refunds belong to the refund's
-- business date on both sides. Where a location presents discounts net (settings.csv), its
-- journal has no discount lines and credits sales net, so its gross sales and discounts have
-- nothing to compare with: those journal figures and differences are null, not a false
-- difference; net sales still ties.

with

toast_days as (
    select * from {{ ref('int_toast_days_summarized') }}
),

-- the sales journal's figures by line kind, one row per journal
journal_figures as (
    select * from {{ ref('int_journal_figures') }}
    where journal_type = 'sales'
),

journals as (
    select * from {{ ref('journals') }}
),

restaurants as (
    select * from {{ ref('stg_toast__restaurants') }}
),

settings as (
    select * from {{ ref('int_settings_resolved') }}
),

joined as (
    select
        toast_days.*,
        coalesce(journal_figures.sales, 0) as journal_sales,
        coalesce(journal_figures.discounts, 0) as journal_discounts,
        coalesce(journal_figures.service_charges, 0) as journal_service_charges,
        coalesce(journal_figures.sales, 0) - coalesce(journal_figures.discounts, 0)
            + coalesce(journal_figures.service_charges, 0) as journal_net_sales,
        coalesce(journal_figures.gratuity, 0) as journal_gratuity,
        coalesce(journal_figures.donations, 0) as journal_donations,
        coalesce(journal_figures.gift_card_sales, 0) as journal_gift_card_sales,
        coalesce(journal_figures.house_account_payments, 0) as journal_house_account_payments,
        coalesce(journal_figures.tax, 0) as journal_tax,
        coalesce(journal_figures.tips, 0) as journal_tips,
        coalesce(journal_figures.tenders, 0) as journal_tenders,
        {% for payment_type in ['cash', 'credit', 'giftcard', 'house_account', 'rewardcard',
                                'toast_sv', 'other', 'undetermined'] %}
        coalesce(journal_figures.tenders_{{ payment_type }}, 0)
            as journal_tenders_{{ payment_type }},
        {% endfor %}
        coalesce(journal_figures.refunds_paid, 0) as journal_refunds,
        coalesce(journal_figures.unpaid_checks, 0) as journal_unpaid_checks,
        coalesce(journal_figures.unpaid_checks_collected, 0) as journal_unpaid_checks_collected,
        coalesce(journal_figures.over_short, 0) as journal_over_short,
        journals.journal_id,
        journals.status as journal_status,
        journals.hold_reasons as journal_hold_reasons
    from toast_days
    left join journal_figures
        on toast_days.restaurant_guid = journal_figures.restaurant_guid
        and toast_days.business_date = journal_figures.business_date
    left join journals
        on toast_days.restaurant_guid = journals.restaurant_guid
        and toast_days.business_date = journals.business_date
        and journals.journal_type = 'sales'
),

final as (
    select
        joined.restaurant_guid,
        restaurants.name as restaurant_name,
        joined.business_date,
        coalesce(settings.discount_presentation, 'gross') as discount_presentation,
        joined.journal_id,
        joined.journal_status,
        joined.journal_hold_reasons,
        -- counts (Toast)
        joined.order_count,
        joined.check_count,
        joined.open_check_count,
        joined.item_count,
        joined.payment_count,
        joined.refund_count,
        joined.voided_order_count,
        joined.deleted_order_count,
        joined.excess_food_order_count,
        joined.voided_item_count,
        joined.voided_payment_count,
        -- Toast's figures, the journal's, and journal - Toast
        {% set pairs = [
            ('gross_sales', 'journal_sales'),
            ('discounts', 'journal_discounts'),
            ('service_charges', 'journal_service_charges'),
            ('net_sales', 'journal_net_sales'),
            ('gratuity', 'journal_gratuity'),
            ('donations', 'journal_donations'),
            ('gift_card_sales', 'journal_gift_card_sales'),
            ('house_account_payments', 'journal_house_account_payments'),
            ('tax', 'journal_tax'),
            ('tips', 'journal_tips'),
        ] %}
        {% for toast, journal in pairs %}
        {% set shown_gross_only = toast in ('gross_sales', 'discounts') %}
        joined.{{ toast }} as toast_{{ toast }},
        {% for figure, name in [
            ('joined.' ~ journal, journal if journal != 'journal_sales' else 'journal_gross_sales'),
            ('joined.' ~ journal ~ ' - joined.' ~ toast, toast ~ '_difference')] %}
        {% if shown_gross_only %}
        case when coalesce(settings.discount_presentation, 'gross') = 'gross'
            then {{ money(figure) }} end as {{ name }},
        {% else %}
        {{ money(figure) }} as {{ name }},
        {% endif %}
        {% endfor %}
        {% endfor %}
        joined.payments as toast_payments,
        {{ money('joined.payments + joined.tips') }} as toast_tenders,
        {{ money('joined.journal_tenders') }} as journal_tenders,
        {{ money('joined.journal_tenders - joined.payments - joined.tips') }} as tenders_difference,
        {% for payment_type in ['cash', 'credit', 'giftcard', 'house_account', 'rewardcard',
                                'toast_sv', 'other', 'undetermined'] %}
        joined.tenders_{{ payment_type }} as toast_tenders_{{ payment_type }},
        {{ money('joined.journal_tenders_' ~ payment_type) }} as journal_tenders_{{ payment_type }},
        {{ money('joined.journal_tenders_' ~ payment_type ~ ' - joined.tenders_' ~ payment_type) }}
            as tenders_{{ payment_type }}_difference,
        {% endfor %}
        joined.tenders_unknown_type as toast_tenders_unknown_type,
        joined.refunds as toast_refunds,
        joined.tip_refunds as toast_tip_refunds,
        {{ money('joined.journal_refunds') }} as journal_refunds,
        {{ money('joined.journal_refunds - joined.refunds - joined.tip_refunds') }}
            as refunds_difference,
        joined.voided_payments as toast_voided_payments,
        joined.voided_items as toast_voided_items,
        joined.check_amount as toast_check_amount,
        {{ money('joined.journal_unpaid_checks') }} as journal_unpaid_checks,
        {{ money('joined.journal_unpaid_checks_collected') }} as journal_unpaid_checks_collected,
        {{ money('joined.journal_over_short') }} as journal_over_short
    from joined
    left join restaurants
        on joined.restaurant_guid = restaurants.restaurant_guid
    left join settings
        on joined.restaurant_guid = settings.restaurant_guid
)

select * from final
