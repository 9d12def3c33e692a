-- Where each Toast thing the journals meet posts: one row per location and mapping (sales
-- category -> revenue and discount accounts, discount -> own account, revenue center ->
-- dimension, service charge, tax rate, facilitator tax, payment type -> accounts, job -> labor
-- expense, role -> account, location -> ERP company), resolved against the mapping seeds.
--
-- Things come from the journal legs (everything the orders used) and from Toast's
-- configuration (everything configured, used or not). Matching (seeds/_seeds.yml): a guid row
-- beats a name row, a location's row beats a '*' row, a named row beats a '*' name; rows with
-- an empty account are ignored. A resolved account must be an active row of
-- chart_of_accounts. What does not resolve says why, which seed file to edit and the CSV row to
-- add there (account left empty for the accountant); journal_lines then uses the fallback
-- role's account and holds the journal.

with

legs as (
    select * from {{ ref('int_journal_legs_unioned') }}
),

restaurants as (
    select * from {{ ref('stg_toast__restaurants') }}
),

config_sales_categories as (
    select restaurant_guid, sales_category_guid, any_value(name) as name
    from {{ ref('stg_toast__sales_categories') }}
    group by all
),

config_revenue_centers as (
    select restaurant_guid, revenue_center_guid, any_value(name) as name
    from {{ ref('stg_toast__revenue_centers') }}
    group by all
),

config_discounts as (
    select restaurant_guid, discount_guid, any_value(name) as name
    from {{ ref('stg_toast__discounts') }}
    group by all
),

config_service_charges as (
    select restaurant_guid, service_charge_guid, any_value(name) as name,
        any_value(service_charge_category) as service_charge_category
    from {{ ref('stg_toast__service_charges') }}
    group by all
),

config_tax_rates as (
    select restaurant_guid, tax_rate_guid, any_value(name) as name
    from {{ ref('stg_toast__tax_rates') }}
    group by all
),

config_alternate_payment_types as (
    select restaurant_guid, alternate_payment_type_guid, any_value(name) as name
    from {{ ref('stg_toast__alternate_payment_types') }}
    group by all
),

config_jobs as (
    select restaurant_guid, job_guid, any_value(title) as name
    from {{ ref('stg_toast__jobs') }}
    group by all
),

locations as (
    select * from {{ ref('locations') }}
),

chart_of_accounts as (
    select * from {{ ref('chart_of_accounts') }}
),

account_roles as (
    select * from {{ ref('account_roles') }}
),

sales_category_accounts as (
    select * from {{ ref('sales_category_accounts') }}
),

discount_accounts as (
    select * from {{ ref('discount_accounts') }}
),

revenue_center_dimensions as (
    select * from {{ ref('revenue_center_dimensions') }}
),

payment_type_accounts as (
    select * from {{ ref('payment_type_accounts') }}
),

service_charge_accounts as (
    select * from {{ ref('service_charge_accounts') }}
),

tax_rate_accounts as (
    select * from {{ ref('tax_rate_accounts') }}
),

job_accounts as (
    select * from {{ ref('job_accounts') }}
),

all_restaurants as (
    select restaurant_guid, any_value(name) as name, any_value(currency) as currency
    from (
        select restaurant_guid, name, currency from restaurants
        union all
        select distinct restaurant_guid, null, null from legs
    )
    group by restaurant_guid
),

-- sales categories ------------------------------------------------------------------------

category_sources as (
    select
        restaurant_guid,
        sales_category_guid,
        bool_or(is_seen_in_orders) as is_seen_in_orders
    from (
        select restaurant_guid, sales_category_guid, true as is_seen_in_orders
        from legs
        where account_source in ('sales_category', 'discount')
        union all
        select restaurant_guid, sales_category_guid, false
        from config_sales_categories
    )
    group by restaurant_guid, sales_category_guid
),

categories as (
    select
        category_sources.restaurant_guid,
        category_sources.sales_category_guid,
        case
            when category_sources.sales_category_guid is null then '(none)'
            else coalesce(config_sales_categories.name, category_sources.sales_category_guid)
        end as name,
        category_sources.is_seen_in_orders
    from category_sources
    left join config_sales_categories
        on category_sources.restaurant_guid = config_sales_categories.restaurant_guid
        and category_sources.sales_category_guid = config_sales_categories.sales_category_guid
),

category_matches as (
    select
        categories.restaurant_guid,
        categories.sales_category_guid,
        {% for purpose in ['revenue', 'discount'] %}
        first(sales_category_accounts.{{ purpose }}_account order by
            (sales_category_accounts.sales_category_guid is not null) desc,
            (sales_category_accounts.restaurant_guid <> '*') desc,
            (sales_category_accounts.sales_category_name <> '*') desc)
            filter (where sales_category_accounts.{{ purpose }}_account is not null)
            as {{ purpose }}_account{{ ',' if not loop.last }}
        {% endfor %}
    from categories
    inner join sales_category_accounts
        on sales_category_accounts.restaurant_guid in (categories.restaurant_guid, '*')
        and case
            when sales_category_accounts.sales_category_guid is not null
                then sales_category_accounts.sales_category_guid = categories.sales_category_guid
            else sales_category_accounts.sales_category_name = categories.name
                or (sales_category_accounts.sales_category_name = '*'
                    and categories.sales_category_guid is not null)
        end
    group by categories.restaurant_guid, categories.sales_category_guid
),

category_mappings as (
    {% for purpose in ['revenue', 'discount'] %}
    select
        categories.restaurant_guid,
        'sales_category_{{ purpose }}' as mapping_kind,
        'sales_category' as source_kind,
        coalesce(categories.sales_category_guid, '(none)') as source_key,
        categories.sales_category_guid as source_guid,
        categories.name as source_name,
        '{{ purpose }} account for sales category ''' || categories.name || '''' as subject,
        'sales_category_accounts.csv' as seed_file,
        category_matches.{{ purpose }}_account as mapped_value,
        {{ finance_csv_row(["'*'", "categories.name", "''", "''", "''"]) }} as suggested_row,
        'default_{{ purpose }}' as fallback_role,
        categories.is_seen_in_orders
    from categories
    left join category_matches
        on categories.restaurant_guid = category_matches.restaurant_guid
        and categories.sales_category_guid is not distinct from category_matches.sales_category_guid
    {{ 'union all' if not loop.last }}
    {% endfor %}
),

-- discounts (own account instead of the category's: optional) ---------------------------

discount_sources as (
    select restaurant_guid, discount_guid, bool_or(is_seen_in_orders) as is_seen_in_orders,
        max(source_name) as leg_name
    from (
        select restaurant_guid, discount_guid, true as is_seen_in_orders, source_name
        from legs
        where account_source = 'discount'
        union all
        select restaurant_guid, discount_guid, false, name
        from config_discounts
    )
    group by restaurant_guid, discount_guid
),

discounts as (
    select
        discount_sources.restaurant_guid,
        discount_sources.discount_guid,
        coalesce(config_discounts.name, discount_sources.leg_name,
                 discount_sources.discount_guid) as name,
        discount_sources.is_seen_in_orders
    from discount_sources
    left join config_discounts
        on discount_sources.restaurant_guid = config_discounts.restaurant_guid
        and discount_sources.discount_guid = config_discounts.discount_guid
),

discount_matches as (
    select
        discounts.restaurant_guid,
        discounts.discount_guid,
        first(discount_accounts.discount_account order by
            (discount_accounts.discount_guid is not null) desc,
            (discount_accounts.restaurant_guid <> '*') desc,
            (discount_accounts.discount_name <> '*') desc) as discount_account
    from discounts
    inner join discount_accounts
        on discount_accounts.restaurant_guid in (discounts.restaurant_guid, '*')
        and discount_accounts.discount_account is not null
        and case
            when discount_accounts.discount_guid is not null
                then discount_accounts.discount_guid = discounts.discount_guid
            else discount_accounts.discount_name in (discounts.name, '*')
        end
    group by discounts.restaurant_guid, discounts.discount_guid
),

discount_mappings as (
    select
        discounts.restaurant_guid,
        'discount' as mapping_kind,
        'discount' as source_kind,
        coalesce(discounts.discount_guid, '(none)') as source_key,
        discounts.discount_guid as source_guid,
        discounts.name as source_name,
        'account for discount ''' || discounts.name || '''' as subject,
        'discount_accounts.csv' as seed_file,
        discount_matches.discount_account as mapped_value,
        {{ finance_csv_row(["'*'", "discounts.name", "''", "''"]) }} as suggested_row,
        cast(null as varchar) as fallback_role,
        discounts.is_seen_in_orders
    from discounts
    inner join discount_matches
        on discounts.restaurant_guid = discount_matches.restaurant_guid
        and discounts.discount_guid is not distinct from discount_matches.discount_guid
),

-- revenue centers (dimension) -----------------------------------------------------------

revenue_center_sources as (
    select restaurant_guid, revenue_center_guid, bool_or(is_seen_in_orders) as is_seen_in_orders
    from (
        select restaurant_guid, revenue_center_guid, true as is_seen_in_orders
        from legs
        where revenue_center_guid is not null
        union all
        select restaurant_guid, revenue_center_guid, false
        from config_revenue_centers
    )
    group by restaurant_guid, revenue_center_guid
),

revenue_centers as (
    select
        revenue_center_sources.restaurant_guid,
        revenue_center_sources.revenue_center_guid,
        coalesce(config_revenue_centers.name, revenue_center_sources.revenue_center_guid) as name,
        revenue_center_sources.is_seen_in_orders
    from revenue_center_sources
    left join config_revenue_centers
        on revenue_center_sources.restaurant_guid = config_revenue_centers.restaurant_guid
        and revenue_center_sources.revenue_center_guid = config_revenue_centers.revenue_center_guid
),

revenue_center_matches as (
    select
        revenue_centers.restaurant_guid,
        revenue_centers.revenue_center_guid,
        first(revenue_center_dimensions.dimension_value order by
            (revenue_center_dimensions.revenue_center_guid is not null) desc,
            (revenue_center_dimensions.restaurant_guid <> '*') desc,
            (revenue_center_dimensions.revenue_center_name <> '*') desc) as dimension_value
    from revenue_centers
    inner join revenue_center_dimensions
        on revenue_center_dimensions.restaurant_guid in (revenue_centers.restaurant_guid, '*')
        and revenue_center_dimensions.dimension_value is not null
        and case
            when revenue_center_dimensions.revenue_center_guid is not null
                then revenue_center_dimensions.revenue_center_guid = revenue_centers.revenue_center_guid
            else revenue_center_dimensions.revenue_center_name in (revenue_centers.name, '*')
        end
    group by revenue_centers.restaurant_guid, revenue_centers.revenue_center_guid
),

revenue_center_mappings as (
    select
        revenue_centers.restaurant_guid,
        'revenue_center' as mapping_kind,
        'revenue_center' as source_kind,
        revenue_centers.revenue_center_guid as source_key,
        revenue_centers.revenue_center_guid as source_guid,
        revenue_centers.name as source_name,
        'dimension value for revenue center ''' || revenue_centers.name || '''' as subject,
        'revenue_center_dimensions.csv' as seed_file,
        revenue_center_matches.dimension_value as mapped_value,
        {{ finance_csv_row(["'*'", "revenue_centers.name", "''", "''"]) }} as suggested_row,
        cast(null as varchar) as fallback_role,
        revenue_centers.is_seen_in_orders
    from revenue_centers
    left join revenue_center_matches
        on revenue_centers.restaurant_guid = revenue_center_matches.restaurant_guid
        and revenue_centers.revenue_center_guid = revenue_center_matches.revenue_center_guid
),

-- service charges (non-gratuity, non-fundraising: the others post by role) ----------------

service_charge_sources as (
    select
        legs.restaurant_guid,
        legs.service_charge_guid,
        legs.service_charge_category,
        coalesce(max(config_service_charges.name), max(legs.source_name),
                 legs.service_charge_guid) as name
    from legs
    left join config_service_charges
        on legs.restaurant_guid = config_service_charges.restaurant_guid
        and legs.service_charge_guid = config_service_charges.service_charge_guid
    where legs.account_source = 'service_charge'
    group by legs.restaurant_guid, legs.service_charge_guid, legs.service_charge_category
),

service_charge_matches as (
    select
        service_charge_sources.restaurant_guid,
        service_charge_sources.service_charge_guid,
        service_charge_sources.service_charge_category,
        first(service_charge_accounts.account_code order by
            (service_charge_accounts.service_charge_guid is not null) desc,
            (service_charge_accounts.restaurant_guid <> '*') desc,
            (service_charge_accounts.service_charge_name <> '*') desc,
            (coalesce(service_charge_accounts.service_charge_category, '*') <> '*') desc)
            as account_code
    from service_charge_sources
    inner join service_charge_accounts
        on service_charge_accounts.restaurant_guid in (service_charge_sources.restaurant_guid, '*')
        and service_charge_accounts.account_code is not null
        and coalesce(service_charge_accounts.service_charge_category, '*')
            in ('*', coalesce(service_charge_sources.service_charge_category, 'SERVICE_CHARGE'))
        and case
            when service_charge_accounts.service_charge_guid is not null
                then service_charge_accounts.service_charge_guid
                    = service_charge_sources.service_charge_guid
            else service_charge_accounts.service_charge_name in (service_charge_sources.name, '*')
        end
    group by all
),

service_charge_mappings as (
    select
        service_charge_sources.restaurant_guid,
        'service_charge' as mapping_kind,
        'service_charge' as source_kind,
        coalesce(service_charge_sources.service_charge_guid, '(none)') || '|'
            || coalesce(service_charge_sources.service_charge_category, '') as source_key,
        service_charge_sources.service_charge_guid as source_guid,
        service_charge_sources.name as source_name,
        'account for service charge ''' || service_charge_sources.name || ''' ('
            || coalesce(service_charge_sources.service_charge_category, 'no category') || ')'
            as subject,
        'service_charge_accounts.csv' as seed_file,
        service_charge_matches.account_code as mapped_value,
        {{ finance_csv_row(["'*'", "coalesce(service_charge_sources.service_charge_category, '*')",
                            "service_charge_sources.name", "''", "''"]) }} as suggested_row,
        'default_service_charge' as fallback_role,
        true as is_seen_in_orders
    from service_charge_sources
    left join service_charge_matches
        on service_charge_sources.restaurant_guid = service_charge_matches.restaurant_guid
        and service_charge_sources.service_charge_guid
            is not distinct from service_charge_matches.service_charge_guid
        and service_charge_sources.service_charge_category
            is not distinct from service_charge_matches.service_charge_category
),

-- account roles --------------------------------------------------------------------------

role_names as (
    select unnest([
        'tips_payable', 'gratuity_payable', 'donations_payable', 'gift_card_liability',
        'house_account_receivable', 'unpaid_checks', 'over_short', 'facilitator_tax_payable',
        'refunds_not_itemised', 'accrued_payroll', 'default_revenue', 'default_discount',
        'default_service_charge', 'default_tax_payable', 'default_tender',
        'default_labor_expense'
    ]) as role
    union
    select distinct role from account_roles where role is not null
    union
    select distinct account_role from legs where account_role is not null
),

role_sources as (
    select all_restaurants.restaurant_guid, role_names.role
    from all_restaurants
    cross join role_names
),

role_matches as (
    select
        role_sources.restaurant_guid,
        role_sources.role,
        first(account_roles.account_code order by (account_roles.restaurant_guid <> '*') desc)
            as account_code
    from role_sources
    inner join account_roles
        on account_roles.restaurant_guid in (role_sources.restaurant_guid, '*')
        and account_roles.role = role_sources.role
        and account_roles.account_code is not null
    group by role_sources.restaurant_guid, role_sources.role
),

role_mappings as (
    select
        role_sources.restaurant_guid,
        'account_role' as mapping_kind,
        'account_role' as source_kind,
        role_sources.role as source_key,
        cast(null as varchar) as source_guid,
        role_sources.role as source_name,
        'account for role ''' || role_sources.role || '''' as subject,
        'account_roles.csv' as seed_file,
        role_matches.account_code as mapped_value,
        {{ finance_csv_row(["'*'", "role_sources.role", "''"]) }} as suggested_row,
        cast(null as varchar) as fallback_role,
        role_sources.role in (select account_role from legs) as is_seen_in_orders
    from role_sources
    left join role_matches
        on role_sources.restaurant_guid = role_matches.restaurant_guid
        and role_sources.role = role_matches.role
),

-- tax rates ------------------------------------------------------------------------------

tax_rate_sources as (
    select
        sources.restaurant_guid,
        sources.tax_rate_guid,
        case
            when sources.tax_rate_guid is null then max(sources.leg_name)
            else coalesce(max(config_tax_rates.name), max(sources.leg_name), sources.tax_rate_guid)
        end as name,
        bool_or(sources.is_seen_in_orders) as is_seen_in_orders
    from (
        select restaurant_guid, tax_rate_guid, source_name as leg_name, true as is_seen_in_orders
        from legs
        where account_source in ('tax_rate', 'facilitator_tax')
        union all
        select restaurant_guid, tax_rate_guid, null, false
        from config_tax_rates
    ) as sources
    left join config_tax_rates
        on sources.restaurant_guid = config_tax_rates.restaurant_guid
        and sources.tax_rate_guid = config_tax_rates.tax_rate_guid
    group by sources.restaurant_guid, sources.tax_rate_guid
),

tax_rate_matches as (
    select
        tax_rate_sources.restaurant_guid,
        tax_rate_sources.tax_rate_guid,
        {% for column in ['tax_payable_account', 'facilitator_tax_account'] %}
        first(tax_rate_accounts.{{ column }} order by
            (tax_rate_accounts.tax_rate_guid is not null) desc,
            (tax_rate_accounts.restaurant_guid <> '*') desc,
            (tax_rate_accounts.tax_rate_name <> '*') desc)
            filter (where tax_rate_accounts.{{ column }} is not null)
            as {{ column }}{{ ',' if not loop.last }}
        {% endfor %}
    from tax_rate_sources
    inner join tax_rate_accounts
        on tax_rate_accounts.restaurant_guid in (tax_rate_sources.restaurant_guid, '*')
        and tax_rate_sources.tax_rate_guid is not null
        and case
            when tax_rate_accounts.tax_rate_guid is not null
                then tax_rate_accounts.tax_rate_guid = tax_rate_sources.tax_rate_guid
            else tax_rate_accounts.tax_rate_name in (tax_rate_sources.name, '*')
        end
    group by tax_rate_sources.restaurant_guid, tax_rate_sources.tax_rate_guid
),

tax_rate_mappings as (
    select
        tax_rate_sources.restaurant_guid,
        'tax_rate' as mapping_kind,
        'tax_rate' as source_kind,
        coalesce(tax_rate_sources.tax_rate_guid, '(none)') as source_key,
        tax_rate_sources.tax_rate_guid as source_guid,
        tax_rate_sources.name as source_name,
        case
            when tax_rate_sources.tax_rate_guid is null
                then 'tax payable account for tax that Toast did not itemise by tax rate (a '
                    || 'check''s taxAmount differs from its applied taxes: check the order in Toast)'
            else 'tax payable account for tax rate ''' || tax_rate_sources.name || ''''
        end as subject,
        'tax_rate_accounts.csv' as seed_file,
        tax_rate_matches.tax_payable_account as mapped_value,
        {{ finance_csv_row(["'*'", "tax_rate_sources.name", "''", "''", "''"]) }} as suggested_row,
        'default_tax_payable' as fallback_role,
        tax_rate_sources.is_seen_in_orders
    from tax_rate_sources
    left join tax_rate_matches
        on tax_rate_sources.restaurant_guid = tax_rate_matches.restaurant_guid
        and tax_rate_sources.tax_rate_guid = tax_rate_matches.tax_rate_guid

    union all

    -- facilitator-remitted tax: the rate's own facilitator account, else the
    -- facilitator_tax_payable role (which is then the mapping, not a fallback)
    select
        tax_rate_sources.restaurant_guid,
        'facilitator_tax' as mapping_kind,
        'tax_rate' as source_kind,
        coalesce(tax_rate_sources.tax_rate_guid, '(none)') as source_key,
        tax_rate_sources.tax_rate_guid as source_guid,
        tax_rate_sources.name as source_name,
        'facilitator tax account for tax rate ''' || coalesce(tax_rate_sources.name, '?') || ''''
            as subject,
        case when tax_rate_matches.facilitator_tax_account is null
            then 'account_roles.csv' else 'tax_rate_accounts.csv' end as seed_file,
        coalesce(tax_rate_matches.facilitator_tax_account, role_matches.account_code)
            as mapped_value,
        case when tax_rate_matches.facilitator_tax_account is null
            then {{ finance_csv_row(["'*'", "'facilitator_tax_payable'", "''"]) }}
            else {{ finance_csv_row(["'*'", "tax_rate_sources.name", "''", "''", "''"]) }}
        end as suggested_row,
        cast(null as varchar) as fallback_role,
        tax_rate_sources.is_seen_in_orders
    from tax_rate_sources
    left join tax_rate_matches
        on tax_rate_sources.restaurant_guid = tax_rate_matches.restaurant_guid
        and tax_rate_sources.tax_rate_guid = tax_rate_matches.tax_rate_guid
    left join role_matches
        on tax_rate_sources.restaurant_guid = role_matches.restaurant_guid
        and role_matches.role = 'facilitator_tax_payable'
),

-- payment types --------------------------------------------------------------------------

payment_type_sources as (
    select
        legs.restaurant_guid,
        legs.payment_type,
        legs.card_type,
        legs.other_payment_guid,
        config_alternate_payment_types.name as alternate_payment_type_name,
        true as is_seen_in_orders
    from legs
    left join config_alternate_payment_types
        on legs.restaurant_guid = config_alternate_payment_types.restaurant_guid
        and legs.other_payment_guid = config_alternate_payment_types.alternate_payment_type_guid
    where legs.account_source = 'payment_type'
    group by all

    union all

    select
        config_alternate_payment_types.restaurant_guid,
        'OTHER',
        null,
        config_alternate_payment_types.alternate_payment_type_guid,
        config_alternate_payment_types.name,
        false
    from config_alternate_payment_types
    where not exists (
        select 1
        from legs
        where legs.account_source = 'payment_type'
          and legs.restaurant_guid = config_alternate_payment_types.restaurant_guid
          and legs.payment_type = 'OTHER'
          and legs.other_payment_guid = config_alternate_payment_types.alternate_payment_type_guid
    )
),

payment_type_matches as (
    select
        payment_type_sources.restaurant_guid,
        payment_type_sources.payment_type,
        payment_type_sources.card_type,
        payment_type_sources.other_payment_guid,
        first(payment_type_accounts.account_code order by
            (payment_type_accounts.alternate_payment_type_guid is not null) desc,
            (payment_type_accounts.restaurant_guid <> '*') desc,
            (coalesce(payment_type_accounts.card_type, '*') <> '*') desc,
            (coalesce(payment_type_accounts.alternate_payment_type_name, '*') <> '*') desc)
            as account_code
    from payment_type_sources
    inner join payment_type_accounts
        on payment_type_accounts.restaurant_guid in (payment_type_sources.restaurant_guid, '*')
        and payment_type_accounts.account_code is not null
        and payment_type_accounts.payment_type = payment_type_sources.payment_type
        and coalesce(payment_type_accounts.card_type, '*')
            in ('*', coalesce(payment_type_sources.card_type, '*'))
        and case
            when payment_type_accounts.alternate_payment_type_guid is not null
                then payment_type_accounts.alternate_payment_type_guid
                    = payment_type_sources.other_payment_guid
            else coalesce(payment_type_accounts.alternate_payment_type_name, '*')
                in ('*', coalesce(payment_type_sources.alternate_payment_type_name, '*'))
        end
    group by all
),

payment_type_mappings as (
    select
        payment_type_sources.restaurant_guid,
        'payment_type' as mapping_kind,
        case when payment_type_sources.payment_type = 'OTHER'
            then 'alternate_payment_type' else 'payment_type' end as source_kind,
        coalesce(payment_type_sources.payment_type, '') || '|'
            || coalesce(payment_type_sources.card_type, '') || '|'
            || coalesce(payment_type_sources.other_payment_guid, '') as source_key,
        coalesce(payment_type_sources.other_payment_guid,
                 payment_type_sources.payment_type) as source_guid,
        coalesce(payment_type_sources.payment_type, '(no type)')
            || coalesce(' ' || payment_type_sources.card_type, '')
            || coalesce(' ' || payment_type_sources.alternate_payment_type_name,
                        ' ' || payment_type_sources.other_payment_guid, '') as source_name,
        'tender account for payment type '
            || coalesce(payment_type_sources.payment_type, '(no type)')
            || coalesce(' card ' || payment_type_sources.card_type, '')
            || coalesce(' alternate payment type '''
                || payment_type_sources.alternate_payment_type_name || '''',
                ' alternate payment type ' || payment_type_sources.other_payment_guid, '')
            as subject,
        'payment_type_accounts.csv' as seed_file,
        payment_type_matches.account_code as mapped_value,
        case
            when payment_type_sources.payment_type = 'OTHER'
                and payment_type_sources.alternate_payment_type_name is null
                then {{ finance_csv_row(["'*'", "'OTHER'", "'*'", "''",
                                         "payment_type_sources.other_payment_guid", "''"]) }}
            else {{ finance_csv_row(["'*'", "coalesce(payment_type_sources.payment_type, '')", "'*'",
                                     "coalesce(payment_type_sources.alternate_payment_type_name, '*')",
                                     "''", "''"]) }}
        end as suggested_row,
        'default_tender' as fallback_role,
        payment_type_sources.is_seen_in_orders
    from payment_type_sources
    left join payment_type_matches
        on payment_type_sources.restaurant_guid = payment_type_matches.restaurant_guid
        and payment_type_sources.payment_type is not distinct from payment_type_matches.payment_type
        and payment_type_sources.card_type is not distinct from payment_type_matches.card_type
        and payment_type_sources.other_payment_guid
            is not distinct from payment_type_matches.other_payment_guid
),

-- jobs -----------------------------------------------------------------------------------

job_matches as (
    select
        config_jobs.restaurant_guid,
        config_jobs.job_guid,
        first(job_accounts.labor_expense_account order by
            (job_accounts.job_guid is not null) desc,
            (job_accounts.restaurant_guid <> '*') desc,
            (job_accounts.job_name <> '*') desc) as account_code
    from config_jobs
    inner join job_accounts
        on job_accounts.restaurant_guid in (config_jobs.restaurant_guid, '*')
        and job_accounts.labor_expense_account is not null
        and case
            when job_accounts.job_guid is not null then job_accounts.job_guid = config_jobs.job_guid
            else job_accounts.job_name in (config_jobs.name, '*')
        end
    group by config_jobs.restaurant_guid, config_jobs.job_guid
),

job_mappings as (
    select
        config_jobs.restaurant_guid,
        'job' as mapping_kind,
        'job' as source_kind,
        config_jobs.job_guid as source_key,
        config_jobs.job_guid as source_guid,
        config_jobs.name as source_name,
        'labor expense account for job ''' || coalesce(config_jobs.name, config_jobs.job_guid)
            || '''' as subject,
        'job_accounts.csv' as seed_file,
        job_matches.account_code as mapped_value,
        {{ finance_csv_row(["'*'", "config_jobs.name", "''", "''"]) }} as suggested_row,
        'default_labor_expense' as fallback_role,
        false as is_seen_in_orders
    from config_jobs
    left join job_matches
        on config_jobs.restaurant_guid = job_matches.restaurant_guid
        and config_jobs.job_guid = job_matches.job_guid
),

-- locations ------------------------------------------------------------------------------

location_mappings as (
    select
        all_restaurants.restaurant_guid,
        'location' as mapping_kind,
        'location' as source_kind,
        all_restaurants.restaurant_guid as source_key,
        all_restaurants.restaurant_guid as source_guid,
        all_restaurants.name as source_name,
        'ERP company for location ''' || coalesce(all_restaurants.name, all_restaurants.restaurant_guid)
            || '''' as subject,
        'locations.csv' as seed_file,
        locations.erp_company as mapped_value,
        {{ finance_csv_row(["all_restaurants.restaurant_guid", "all_restaurants.name", "''", "''",
                            "coalesce(all_restaurants.currency, '')", "'false'", "''"]) }}
            as suggested_row,
        cast(null as varchar) as fallback_role,
        all_restaurants.restaurant_guid in (select restaurant_guid from legs) as is_seen_in_orders
    from all_restaurants
    left join locations
        on all_restaurants.restaurant_guid = locations.restaurant_guid
),

-- all together, accounts checked against the chart of accounts ----------------------------

all_mappings as (
    select * from category_mappings
    union all
    select * from discount_mappings
    union all
    select * from revenue_center_mappings
    union all
    select * from service_charge_mappings
    union all
    select * from tax_rate_mappings
    union all
    select * from payment_type_mappings
    union all
    select * from job_mappings
    union all
    select * from role_mappings
    union all
    select * from location_mappings
),

checked as (
    select
        all_mappings.*,
        mapping_kind not in ('revenue_center', 'location') as is_account,
        chart_of_accounts.account_code is not null as is_in_chart,
        coalesce(chart_of_accounts.is_active, false) as is_account_active,
        chart_of_accounts.account_name,
        chart_of_accounts.account_type
    from all_mappings
    left join chart_of_accounts
        on all_mappings.mapped_value = chart_of_accounts.account_code
        and all_mappings.mapping_kind not in ('revenue_center', 'location')
),

final as (
    select
        restaurant_guid,
        mapping_kind,
        source_kind,
        source_key,
        source_guid,
        source_name,
        seed_file,
        mapped_value,
        case when is_account and is_account_active then mapped_value end as account_code,
        case when is_account and is_account_active then account_name end as account_name,
        case when is_account and is_account_active then account_type end as account_type,
        case when not is_account then mapped_value end as dimension_value,
        mapped_value is not null and (not is_account or is_account_active) as is_mapped,
        case
            when mapped_value is null
                then 'unmapped: no ' || subject || ': add a row to seeds/' || seed_file || ': '
                    || suggested_row
            when is_account and not is_in_chart
                then 'unmapped: ' || subject || ' is ' || mapped_value || ', which is not in '
                    || 'seeds/chart_of_accounts.csv: add it there or correct seeds/' || seed_file
            when is_account and not is_account_active
                then 'unmapped: ' || subject || ' is ' || mapped_value || ', which is inactive in '
                    || 'seeds/chart_of_accounts.csv: activate it or correct seeds/' || seed_file
        end as unmapped_reason,
        case
            when mapped_value is null then seed_file
            when is_account and not is_in_chart then 'chart_of_accounts.csv'
            when is_account and not is_account_active then 'chart_of_accounts.csv'
        end as fix_seed_file,
        case
            when mapped_value is null then suggested_row
            when is_account and not is_in_chart
                then {{ finance_csv_row(["mapped_value", "''", "''", "'false'"]) }}
        end as suggested_row,
        fallback_role,
        is_seen_in_orders
    from checked
)

select * from final
