//! Command line: `crm serve` (the default) and `crm admin …` for tenants, users and tokens.

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};

use crate::audit::Actor;
use crate::config::Config;
use crate::telemetry::{self, LogFormat};
use crate::tenancy::model::{Department, Role, TenantId, TokenId, UserId};
use crate::tenancy::{service, store};

#[derive(Debug, Parser)]
#[command(name = "crm", version, about = "Receivables & deals CRM host")]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    /// Log format.
    #[arg(long, env = "CRM_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default when no command is given).
    Serve,
    /// Administer tenants, users and API tokens.
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a tenant with its first admin user, and print that admin's API token once.
    CreateTenant {
        /// Display name of the tenant (the customer company).
        #[arg(long)]
        name: String,
        /// IANA time zone.
        #[arg(long, default_value = "Europe/Moscow")]
        time_zone: String,
        /// E-mail of the first admin user.
        #[arg(long, default_value = "admin@localhost")]
        admin_email: String,
        /// Name of the first admin user.
        #[arg(long, default_value = "Administrator")]
        admin_name: String,
    },
    /// List tenants.
    ListTenants,
    /// Set or reset a user's password for the web pages. Without `--password-stdin` a
    /// random password is generated and printed once; the user's open sessions end.
    SetPassword {
        #[arg(long)]
        tenant: TenantId,
        /// The user's e-mail (their login).
        #[arg(long)]
        email: String,
        /// Read the password from the first line of standard input instead.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Create a user in a tenant.
    CreateUser {
        #[arg(long)]
        tenant: TenantId,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// admin, head or manager.
        #[arg(long)]
        role: String,
        /// Department roles, comma separated: legal, security, credit, risk.
        #[arg(long, value_delimiter = ',')]
        departments: Vec<String>,
    },
    /// Issue an API token for a user and print it once.
    IssueToken {
        #[arg(long)]
        tenant: TenantId,
        #[arg(long)]
        user: UserId,
        /// A label to recognise the token by.
        #[arg(long, default_value = "cli")]
        name: String,
    },
    /// List a tenant's tokens (never their secrets).
    ListTokens {
        #[arg(long)]
        tenant: TenantId,
    },
    /// Revoke a token.
    RevokeToken {
        #[arg(long)]
        tenant: TenantId,
        #[arg(long)]
        token: TokenId,
    },
    /// Add (or correct) a Bank of Russia key-rate decision, used by penalty calculations
    /// of every tenant. The rate applies from `--from` until the next decision. Adding it
    /// also records that the table is current through today (`--current-through` to say
    /// otherwise). Prints the table it leaves.
    SetKeyRate {
        /// The first day the rate applies, YYYY-MM-DD.
        #[arg(long, value_parser = strict_date)]
        from: chrono::NaiveDate,
        /// Percent per annum, e.g. 16.5 (at most two decimals).
        #[arg(long)]
        rate: rust_decimal::Decimal,
        /// The table is known to be current through this day (default: today).
        #[arg(long, value_parser = strict_date)]
        current_through: Option<chrono::NaiveDate>,
    },
    /// Record that the key-rate table is current (no Bank of Russia decision since its
    /// latest) through a day, today by default; prints the table. Letters and reports
    /// whose calculation runs past that day carry a warning.
    ConfirmKeyRates {
        /// YYYY-MM-DD (default: today).
        #[arg(long, value_parser = strict_date)]
        through: Option<chrono::NaiveDate>,
    },
    /// Queue a sync from the accounting system (1C) for a tenant and run it here, printing
    /// its progress; the same job the daily schedule and `POST /receivables/sync` queue.
    Sync {
        #[arg(long)]
        tenant: TenantId,
        /// Read everything, not only what changed since the last successful sync.
        #[arg(long)]
        full: bool,
    },
    /// Cancel a background job: a queued one at once, a running one at its next save point
    /// (a running server notices within a second or so). Recorded in the audit log.
    CancelJob {
        #[arg(long)]
        tenant: TenantId,
        /// The job's id (`GET /api/v1/jobs` lists them).
        #[arg(long)]
        job: crate::jobs::JobId,
    },
    /// Upload a plugin version for a tenant: its plugin.toml and its .wasm component.
    UploadPlugin {
        #[arg(long)]
        tenant: TenantId,
        /// Path to plugin.toml.
        #[arg(long)]
        manifest: std::path::PathBuf,
        /// Path to the component built for wasm32-wasip2.
        #[arg(long)]
        component: std::path::PathBuf,
    },
    /// Call a tenant's module instance with a sample input and print its output, its log
    /// lines and its run-log entry (as `POST /api/v1/modules/{id}/try`). Without
    /// `--input`, lists the functions it can be tried with, with example inputs.
    TryModule {
        #[arg(long)]
        tenant: TenantId,
        /// The module instance id, e.g. `inn-dadata`.
        #[arg(long)]
        module: String,
        /// `<interface>.<function>`, e.g. `enrichment.lookup` (optional when there is one).
        #[arg(long)]
        function: Option<String>,
        /// The input as JSON, e.g. '{"inn": "7719402047"}'.
        #[arg(long)]
        input: Option<String>,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    telemetry::init(cli.log_format);
    let state = crate::server::open(cli.config.clone()).await?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let listener = tokio::net::TcpListener::bind(cli.config.listen)
                .await
                .with_context(|| format!("cannot listen on {} (is another server running?)", cli.config.listen))?;
            crate::server::serve(state, listener).await
        }
        Command::Admin(cmd) => {
            let result = admin(&state, cmd).await;
            state.db.close().await;
            result
        }
    }
}

async fn admin(state: &crate::AppState, cmd: AdminCommand) -> anyhow::Result<()> {
    let actor = Actor::system("admin CLI");
    match cmd {
        AdminCommand::CreateTenant { name, time_zone, admin_email, admin_name } => {
            let mut tx = state.db.begin().await?;
            let created = service::create_tenant(&mut tx.conn(), &actor, &name, &time_zone, &admin_email, &admin_name)
                .await
                ?;
            let password = crate::tenancy::password::generate();
            let phc = crate::tenancy::password::hash_blocking(password.clone()).await;
            crate::tenancy::sign_in::set_password(&mut tx.conn(), created.tenant.id, &actor, created.admin.id, &phc).await?;
            tx.commit().await?;
            crate::plugins::service::register_builtins(state, crate::plugins::builtin::BUILTINS, Some(created.tenant.id)).await?;
            println!("tenant:     {} ({})", created.tenant.id, created.tenant.name);
            println!("admin user: {} <{}>", created.admin.id, created.admin.email);
            println!("web sign-in at http://{}/ : login {}, password {password} (shown once; change it under «Профиль»)", state.config.listen, created.admin.email);
            println!("token id:   {}", created.token.info.id);
            println!("API token (shown once, store it now):");
            println!("{}", created.token.token);
        }
        AdminCommand::ListTenants => {
            let mut c = state.db.read().await?;
            for t in store::list_tenants(&mut c.conn()).await? {
                println!("{}\t{}\t{}", t.id, t.time_zone, t.name);
            }
        }
        AdminCommand::SetPassword { tenant, email, password_stdin } => {
            let (password, generated) = if password_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line).context("reading the password from standard input")?;
                (line.trim_end_matches(['\r', '\n']).to_string(), false)
            } else {
                (crate::tenancy::password::generate(), true)
            };
            crate::tenancy::password::check_policy("password", &password).map_err(|e| anyhow::anyhow!("{}", e.0.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; ")))?;
            let phc = crate::tenancy::password::hash_blocking(password.clone()).await;
            let mut tx = state.db.begin().await?;
            ensure_tenant(&mut tx.conn(), tenant).await?;
            let user = store::user_by_email(&mut tx.conn(), tenant, &email)
                .await?
                .with_context(|| format!("no user <{email}> in tenant {tenant}"))?;
            crate::tenancy::sign_in::set_password(&mut tx.conn(), tenant, &actor, user.id, &phc).await?;
            tx.commit().await?;
            if generated {
                println!("password of {} (shown once; they can change it under «Профиль»):", user.email);
                println!("{password}");
            } else {
                println!("password of {} set", user.email);
            }
        }
        AdminCommand::CreateUser { tenant, email, name, role, departments } => {
            let role: Role = role.parse().map_err(anyhow::Error::msg).context("--role")?;
            let departments = departments
                .iter()
                .filter(|d| !d.is_empty())
                .map(|d| serde_json::from_value::<Department>(serde_json::Value::String(d.clone())))
                .collect::<Result<Vec<_>, _>>()
                .context("--departments takes legal, security, credit, risk")?;
            let mut tx = state.db.begin().await?;
            ensure_tenant(&mut tx.conn(), tenant).await?;
            let input = service::UserInput { email, full_name: name, role, departments };
            let user = service::create_user(&mut tx.conn(), tenant, &actor, &input).await?;
            tx.commit().await?;
            println!("user: {} <{}> {}", user.id, user.email, user.role);
        }
        AdminCommand::IssueToken { tenant, user, name } => {
            let mut tx = state.db.begin().await?;
            ensure_tenant(&mut tx.conn(), tenant).await?;
            let issued = service::issue_token(&mut tx.conn(), tenant, &actor, user, &name).await?;
            tx.commit().await?;
            println!("token id: {}", issued.info.id);
            println!("API token (shown once, store it now):");
            println!("{}", issued.token);
        }
        AdminCommand::ListTokens { tenant } => {
            let mut c = state.db.read().await?;
            ensure_tenant(&mut c.conn(), tenant).await?;
            for t in store::list_tokens(&mut c.conn(), tenant, None).await? {
                let status = if t.revoked_at.is_some() { "revoked" } else { "active" };
                println!("{}\t{}\t{}\t{}\t{}", t.id, t.user_id, status, t.created_at.format("%Y-%m-%d %H:%M"), t.name);
            }
        }
        AdminCommand::UploadPlugin { tenant, manifest, component } => {
            let text = std::fs::read_to_string(&manifest).with_context(|| format!("reading {}", manifest.display()))?;
            let bytes = std::fs::read(&component).with_context(|| format!("reading {}", component.display()))?;
            let parsed = crate::plugins::manifest::Manifest::parse(&text)?;
            {
                let mut c = state.db.read().await?;
                ensure_tenant(&mut c.conn(), tenant).await?;
            }
            let prepared = crate::plugins::service::prepare(state, tenant, &parsed, &bytes).await?;
            let mut tx = state.db.begin().await?;
            let v = crate::plugins::service::register(&mut tx.conn(), tenant, &actor, &prepared, false).await?;
            tx.commit().await?;
            println!("plugin {} {} ({}) registered, sha256 {}", v.plugin_id, v.version, v.world, v.sha256);
            println!("enable it: PUT /api/v1/modules/{} with {{\"version\": \"{}\", ...}}", v.plugin_id, v.version);
        }
        AdminCommand::TryModule { tenant, module, function, input } => {
            {
                let mut c = state.db.read().await?;
                ensure_tenant(&mut c.conn(), tenant).await?;
            }
            let Some(input) = input else {
                for f in crate::plugins::service::tryable(state, tenant, &module).await? {
                    println!("{}\n  {}\n  example: --function {} --input '{}'", f.function, f.description, f.function, f.example);
                }
                return Ok(());
            };
            let input: serde_json::Value = serde_json::from_str(&input).context("--input is not valid JSON")?;
            let result = crate::plugins::service::try_module(state, tenant, &module, crate::plugins::service::TryInput { function, input }).await?;
            println!("{}", serde_json::to_string_pretty(&result)?);
            if let Some(f) = &result.failure {
                bail!("the call failed ({}): {}", f.outcome, f.message);
            }
        }
        AdminCommand::SetKeyRate { from, rate, current_through } => {
            if rate.is_sign_negative() || rate > rust_decimal::Decimal::from(100) {
                bail!("--rate must be a percent per annum between 0 and 100");
            }
            if rate.normalize().scale() > 2 {
                bail!("--rate has more than two decimals: the Bank of Russia sets the key rate in hundredths of a percent at most");
            }
            let today = crate::tenancy::access::today_in("Europe/Moscow");
            let through = current_through.unwrap_or(today);
            if through > today {
                bail!("--current-through {through} is in the future: the table can be vouched for up to today ({today})");
            }
            let mut tx = state.db.begin().await?;
            crate::receivables::store::set_key_rate(&mut tx.conn(), from, &format!("{rate:.2}"), through, "crm admin set-key-rate").await?;
            tx.commit().await?;
            println!("key rate {} % from {} saved", crate::receivables::routes::rate_text(&rate.to_string()), from.format("%d.%m.%Y"));
            print_key_rates(state).await?;
        }
        AdminCommand::ConfirmKeyRates { through } => {
            let today = crate::tenancy::access::today_in("Europe/Moscow");
            let through = through.unwrap_or(today);
            if through > today {
                bail!("--through {through} is in the future: the table can be confirmed up to today ({today})");
            }
            let mut tx = state.db.begin().await?;
            crate::receivables::store::confirm_key_rates(&mut tx.conn(), through, "crm admin confirm-key-rates").await?;
            tx.commit().await?;
            print_key_rates(state).await?;
        }
        AdminCommand::Sync { tenant, full } => {
            let job = {
                let named = {
                    let mut c = state.db.read().await?;
                    ensure_tenant(&mut c.conn(), tenant).await?;
                    crate::receivables::store::settings(&mut c.conn(), tenant).await?.accounting_module
                };
                crate::receivables::sync::accounting_module(state, tenant, named.as_deref()).await?;
                let mut tx = state.db.begin().await?;
                let params = serde_json::json!({ "full": full });
                let job = crate::jobs::service::enqueue(&mut tx.conn(), &state.jobs, tenant, &crate::receivables::SYNC_JOB, params, None)
                    .await
                    .context("GET /api/v1/jobs shows the jobs")?;
                tx.commit().await?;
                job
            };
            println!("sync job {} queued; running it", job.id);
            let done = crate::jobs::runner::run_pending(state, state.config.runner_options()).await?;
            for j in done {
                println!("job {} {}: {}", j.id, j.status, serde_json::to_string_pretty(&j.progress.0)?);
                if let Some(e) = j.error {
                    println!("error: {e}");
                }
            }
        }
        AdminCommand::CancelJob { tenant, job } => {
            let mut tx = state.db.begin().await?;
            ensure_tenant(&mut tx.conn(), tenant).await?;
            let done = crate::jobs::service::cancel(&mut tx.conn(), tenant, job, &actor).await?;
            tx.commit().await?;
            match done {
                crate::jobs::service::Cancelled::Now(j) => println!("job {} ({}) cancelled", j.id, j.kind),
                crate::jobs::service::Cancelled::Requested(j) => {
                    println!("job {} ({}) is running: asked to stop at its next save point; GET /api/v1/jobs/{} shows when it has", j.id, j.kind, j.id)
                }
            }
        }
        AdminCommand::RevokeToken { tenant, token } => {
            let mut tx = state.db.begin().await?;
            ensure_tenant(&mut tx.conn(), tenant).await?;
            service::revoke_token(&mut tx.conn(), tenant, &actor, token).await?;
            tx.commit().await?;
            println!("revoked {token}");
        }
    }
    Ok(())
}

/// Prints the operator's key-rate table, rates with two decimals, and how current it is.
async fn print_key_rates(state: &crate::AppState) -> anyhow::Result<()> {
    let mut c = state.db.read().await?;
    let mut c = c.conn();
    let rows = crate::receivables::store::key_rates(&mut c).await?;
    let status = crate::receivables::store::key_rates_status(&mut c).await?;
    println!("\nBank of Russia key rate (the table every tenant's penalties use):");
    println!("  {:<12} {:>8}", "from", "% p.a.");
    for (from, rate) in &rows {
        println!("  {:<12} {:>8}", from.format("%d.%m.%Y").to_string(), crate::receivables::routes::rate_text(rate));
    }
    match status {
        Some((through, at, by)) => println!("current through {} (confirmed {} by {by})", through.format("%d.%m.%Y"), at.format("%Y-%m-%d %H:%M UTC")),
        None => println!("never confirmed: letters and reports warn that the rate may have changed"),
    }
    Ok(())
}

/// `--from` of `set-key-rate`: `YYYY-MM-DD`, as everywhere else.
fn strict_date(s: &str) -> Result<chrono::NaiveDate, String> {
    crate::dates::parse(s).map_err(|e| crate::dates::message(s, e))
}

async fn ensure_tenant(c: &mut crate::db::Conn<'_>, tenant: TenantId) -> anyhow::Result<()> {
    if store::get_tenant(c, tenant).await?.is_none() {
        bail!("no tenant {tenant}; `crm admin list-tenants` shows them");
    }
    Ok(())
}
