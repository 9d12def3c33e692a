{{ config(materialized='view') }}

-- The labor expense account per location and job (job_accounts.csv), for every job in
-- Toast's configuration. Unmapped ones post to the default_labor_expense role. Unioned in
-- int_account_mappings_resolved (mapping_kind job).

with

toast_jobs as (
    select * from {{ ref('stg_toast__jobs') }}
),

job_accounts as (
    select * from {{ ref('job_accounts') }}
),

chart_of_accounts as (
    select * from {{ ref('chart_of_accounts') }}
),

config_jobs as (
    select
        restaurant_guid,
        job_guid,
        any_value(title) as name
    from toast_jobs
    group by all
),

job_matches as (
    select
        config_jobs.restaurant_guid,
        config_jobs.job_guid,
        {{ finance_mapping_pick(
            'job_accounts', 'labor_expense_account', pin='job_guid',
            narrower=["job_accounts.job_name <> '*'"]) }} as account_code
    from config_jobs
    inner join job_accounts
        on {{ finance_mapping_matches(
            'job_accounts', 'config_jobs',
            seed_pin='job_accounts.job_guid',
            source_pin='config_jobs.job_guid',
            seed_name='job_accounts.job_name',
            source_name='config_jobs.name') }}
    group by config_jobs.restaurant_guid, config_jobs.job_guid
),

mappings as (
    select
        config_jobs.restaurant_guid,
        'job' as mapping_kind,
        'job' as source_kind,
        config_jobs.job_guid as source_key,
        config_jobs.job_guid as source_guid,
        config_jobs.name as source_name,
        'labor expense account for job '''
        || coalesce(config_jobs.name, config_jobs.job_guid) || '''' as subject,
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

final as (
    {{ finance_mappings_resolved('mappings', 'chart_of_accounts') }}
)

select * from final
