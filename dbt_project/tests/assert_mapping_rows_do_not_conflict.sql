-- Two rows of a mapping seed that match the same thing (the same location or '*', the same
-- guid, else the same name) but map it to different accounts or values: the resolution would
-- keep one by row order and nobody would know which. Fails the build (nothing posts) with a
-- message per conflict naming the file, both rows and the values (transform/build.py shows it):
--   sales_category_accounts.csv: rows 4 and 9 both map sales category 'Food' for *
--   (revenue_account 4000 vs 4050): keep one
-- Identical rows (a row pasted twice) map one way and are tolerated here; the seeds keyed by
-- location, company or account code also have a unique test (seeds/_seeds.yml).
-- macros/finance/finance_seed_conflicts.sql. store_failures keeps the messages for build.py.
{{ config(severity='error', store_failures=true) }}

{{ finance_seed_conflicts(
    ref('sales_category_accounts'), 'sales_category_accounts.csv',
    match_key=['restaurant_guid',
               finance_seed_pin_or_name('sales_category_guid', 'sales_category_name')],
    subject=finance_seed_subject('sales category', 'sales_category_guid',
                                 'sales_category_name'),
    targets=['revenue_account', 'discount_account']) }}

union all

{{ finance_seed_conflicts(
    ref('discount_accounts'), 'discount_accounts.csv',
    match_key=['restaurant_guid', finance_seed_pin_or_name('discount_guid', 'discount_name')],
    subject=finance_seed_subject('discount', 'discount_guid', 'discount_name'),
    targets=['discount_account']) }}

union all

{{ finance_seed_conflicts(
    ref('revenue_center_dimensions'), 'revenue_center_dimensions.csv',
    match_key=['restaurant_guid',
               finance_seed_pin_or_name('revenue_center_guid', 'revenue_center_name')],
    subject=finance_seed_subject('revenue center', 'revenue_center_guid',
                                 'revenue_center_name'),
    targets=['dimension_value']) }}

union all

{{ finance_seed_conflicts(
    ref('payment_type_accounts'), 'payment_type_accounts.csv',
    match_key=['restaurant_guid', 'payment_type', "coalesce(card_type, '*')",
               finance_seed_pin_or_name('alternate_payment_type_guid',
                                        "coalesce(alternate_payment_type_name, '*')")],
    subject="'payment type ' || payment_type || ' card ' || coalesce(card_type, '*') || ' '
        || " ~ finance_seed_subject('alternate', 'alternate_payment_type_guid',
                                     "coalesce(alternate_payment_type_name, '*')"),
    targets=['account_code']) }}

union all

{{ finance_seed_conflicts(
    ref('service_charge_accounts'), 'service_charge_accounts.csv',
    match_key=['restaurant_guid', "coalesce(service_charge_category, '*')",
               finance_seed_pin_or_name('service_charge_guid', 'service_charge_name')],
    subject="coalesce(service_charge_category, '*') || ' ' || "
        ~ finance_seed_subject('service charge', 'service_charge_guid', 'service_charge_name'),
    targets=['account_code']) }}

union all

{{ finance_seed_conflicts(
    ref('tax_rate_accounts'), 'tax_rate_accounts.csv',
    match_key=['restaurant_guid', finance_seed_pin_or_name('tax_rate_guid', 'tax_rate_name')],
    subject=finance_seed_subject('tax rate', 'tax_rate_guid', 'tax_rate_name'),
    targets=['tax_payable_account', 'facilitator_tax_account']) }}

union all

{{ finance_seed_conflicts(
    ref('job_accounts'), 'job_accounts.csv',
    match_key=['restaurant_guid', finance_seed_pin_or_name('job_guid', 'job_name')],
    subject=finance_seed_subject('job', 'job_guid', 'job_name'),
    targets=['labor_expense_account']) }}

union all

{{ finance_seed_conflicts(
    ref('account_roles'), 'account_roles.csv',
    match_key=['restaurant_guid', 'role'],
    subject="'role ''' || role || ''' for ' || restaurant_guid",
    targets=['account_code']) }}

union all

{{ finance_seed_conflicts(
    ref('locations'), 'locations.csv',
    match_key=['restaurant_guid'],
    subject="'location ' || restaurant_guid",
    targets=['erp_company', 'erp_division', 'location_dimension', 'currency', 'is_active',
             'posting_start_date']) }}

union all

{{ finance_seed_conflicts(
    ref('settings'), 'settings.csv',
    match_key=['restaurant_guid'],
    subject="'the settings for ' || restaurant_guid",
    targets=['discount_presentation', 'over_short_tolerance', 'settle_delay_hours', 'currency',
             'hold_open_checks', 'overtime_multiplier', 'labor_journal',
             'open_check_grace_days']) }}

union all

{{ finance_seed_conflicts(
    ref('closed_periods'), 'closed_periods.csv',
    match_key=['erp_company'],
    subject="'company ' || erp_company",
    targets=['closed_through']) }}

union all

{{ finance_seed_conflicts(
    ref('chart_of_accounts'), 'chart_of_accounts.csv',
    match_key=['account_code'],
    subject="'account ' || account_code",
    targets=['account_name', 'account_type', 'is_active']) }}
