//! Seeding the benchmarks' tenants straight through SQL (multi-row INSERTs): realistic
//! counterparties with valid requisites, two contacts each, and a deal on every 5th.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use anyhow::anyhow;
use crm_host::audit::Actor;
use crm_host::contacts::model::ContactInput;
use crm_host::counterparties::CounterpartyId;
use crm_host::counterparties::model::{CounterpartyInput, CounterpartyKind};
use crm_host::db::{Conn, Db, DbOptions, Engine, values_list};
use crm_host::on_conn;
use crm_host::tenancy::UserId;
use crm_host::tenancy::service::create_tenant;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use sqlx::types::Json;
use uuid::Uuid;

/// Rows per multi-row INSERT: 500 × 21 counterparty columns stays under both engines'
/// bind-parameter limits (SQLite 32766, PostgreSQL 65535).
const CHUNK: usize = 500;

// ---------------------------------------------------------------------------------------
// Seeding

/// Counterparties of the second tenant, there so every query has to filter by tenant.
pub const OTHER_TENANT_ROWS: usize = 50;

/// What [`seed`] made: the measured tenant, its admin's token, its counterparties.
pub struct Seeded {
    pub tenant: Uuid,
    pub token: String,
    pub ids: Vec<Uuid>,
    pub took: Duration,
}

/// The measured tenant with `n` counterparties, and a small second tenant.
pub async fn seed(opts: &DbOptions, n: usize, sqlite_analyze: bool) -> anyhow::Result<Seeded> {
    let db = Db::connect(opts).await?;
    let started = Instant::now();
    let (tenant, token, ids) = seed_tenant(&db, "ООО «Бенч Факторинг»", "admin@bench.example", n, 1).await?;
    seed_tenant(&db, "АО «Соседний Факторинг»", "admin@other.example", OTHER_TENANT_ROWS, 2).await?;
    if db.engine() == Engine::Postgres {
        // Autovacuum would do this within a minute of a bulk load; a benchmark cannot wait.
        let mut read = db.read().await?;
        let c = &mut read.conn();
        on_conn!(c, c => sqlx::query("ANALYZE tenants, users, api_tokens, counterparties, contacts, pipelines, stages, deals").execute(c).await.map(drop))?;
    } else if sqlite_analyze {
        let mut tx = db.begin().await?;
        let c = &mut tx.conn();
        on_conn!(c, c => sqlx::query("ANALYZE").execute(c).await.map(drop))?;
        tx.commit().await?;
    }
    let took = started.elapsed();
    db.close().await;
    Ok(Seeded { tenant, token, ids, took })
}

/// A tenant with `n` counterparties, 2 contacts each, and a deal on every 5th
/// (alternately at the open and the won stage). Returns the tenant, a token, the ids.
pub async fn seed_tenant(db: &Db, name: &str, admin_email: &str, n: usize, seed: u64) -> anyhow::Result<(Uuid, String, Vec<Uuid>)> {
    let mut tx = db.begin().await?;
    let created = create_tenant(&mut tx.conn(), &Actor::system("bench"), name, "Europe/Moscow", admin_email, "Admin").await?;
    let (tenant, admin) = (created.tenant.id.0, created.admin.id);
    let stages = insert_pipeline(&mut tx.conn(), tenant).await?;
    tx.commit().await?;

    let mut rng = StdRng::seed_from_u64(seed);
    let mut ids = Vec::with_capacity(n);
    let base = Utc::now() - chrono::Duration::days(400);
    for start in (0..n).step_by(CHUNK) {
        let (mut cps, mut contacts, mut deals) = (Vec::new(), Vec::new(), Vec::new());
        for i in start..(start + CHUNK).min(n) {
            let at = base + chrono::Duration::seconds(i as i64 * 300);
            let cp = NewRow { id: Uuid::now_v7(), at, input: gen_counterparty(i, &mut rng, admin)? };
            for j in 0..2 {
                contacts.push(NewRow { id: Uuid::now_v7(), at, input: gen_contact(i, j, cp.id, &mut rng)? });
            }
            if i % 5 == 0 {
                let stage = if (i / 5) % 2 == 0 { stages.open } else { stages.won };
                deals.push(NewDeal { id: Uuid::now_v7(), at, counterparty: cp.id, stage, amount: rng.random_range(100..50_000) * 10_000, i });
            }
            ids.push(cp.id);
            cps.push(cp);
        }
        let mut tx = db.begin().await?;
        insert_counterparties(&mut tx.conn(), tenant, &cps).await?;
        for part in contacts.chunks(CHUNK) {
            insert_contacts(&mut tx.conn(), tenant, part).await?;
        }
        insert_deals(&mut tx.conn(), tenant, &stages, admin.0, &deals).await?;
        tx.commit().await?;
    }
    Ok((tenant, created.token.token, ids))
}

struct NewRow<T> {
    id: Uuid,
    at: DateTime<Utc>,
    input: T,
}

struct NewDeal {
    id: Uuid,
    at: DateTime<Utc>,
    counterparty: Uuid,
    stage: Uuid,
    amount: i64,
    i: usize,
}

struct Stages {
    pipeline: Uuid,
    open: Uuid,
    won: Uuid,
}


async fn insert_pipeline(c: &mut Conn<'_>, tenant: Uuid) -> sqlx::Result<Stages> {
    let s = Stages { pipeline: Uuid::now_v7(), open: Uuid::now_v7(), won: Uuid::now_v7() };
    let now = Utc::now();
    on_conn!(c, c => sqlx::query("INSERT INTO pipelines (tenant_id, id, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)")
        .bind(tenant).bind(s.pipeline).bind("Факторинг (бенч)").bind(now).execute(c).await.map(drop))?;
    for (id, name, position, kind, p) in [(s.open, "Переговоры", 1_i32, "open", 30_i32), (s.won, "Договор подписан", 2, "won", 100)] {
        let sql = "INSERT INTO stages (tenant_id, id, pipeline_id, name, position, kind, win_probability, created_at, updated_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)";
        on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(id).bind(s.pipeline).bind(name).bind(position)
            .bind(kind).bind(p).bind(now).execute(c).await.map(drop))?;
    }
    Ok(s)
}

async fn insert_counterparties(c: &mut Conn<'_>, tenant: Uuid, rows: &[NewRow<CounterpartyInput>]) -> sqlx::Result<()> {
    let sql = format!(
        "INSERT INTO counterparties (tenant_id, id, kind, inn, kpp, ogrn, full_name, short_name, legal_address, postal_address, \
         bank_name, bank_bic, bank_account, bank_corr_account, segment, responsible_id, payment_deferral_days, tags, search_key, \
         created_at, updated_at) VALUES {}",
        values_list(c.engine(), rows.len(), 21)
    );
    on_conn!(c, c => {
        let mut q = sqlx::query(&sql);
        for r in rows {
            let i = &r.input;
            let key = crm_host::api::pagination::search_key(&[Some(&i.full_name), i.short_name.as_deref(), i.inn.as_deref()]);
            q = q.bind(tenant).bind(r.id).bind(i.kind).bind(&i.inn).bind(&i.kpp).bind(&i.ogrn).bind(&i.full_name)
                .bind(&i.short_name).bind(&i.legal_address).bind(&i.postal_address).bind(&i.bank_name).bind(&i.bank_bic)
                .bind(&i.bank_account).bind(&i.bank_corr_account).bind(&i.segment).bind(i.responsible_id)
                .bind(i.payment_deferral_days).bind(Json(&i.tags)).bind(key).bind(r.at).bind(r.at);
        }
        q.execute(c).await.map(drop)
    })
}

async fn insert_contacts(c: &mut Conn<'_>, tenant: Uuid, rows: &[NewRow<ContactInput>]) -> sqlx::Result<()> {
    let sql = format!(
        "INSERT INTO contacts (tenant_id, id, counterparty_id, full_name, position, phones, emails, note, search_key, created_at, \
         updated_at) VALUES {}",
        values_list(c.engine(), rows.len(), 11)
    );
    on_conn!(c, c => {
        let mut q = sqlx::query(&sql);
        for r in rows {
            let i = &r.input;
            let (phones, emails) = (i.phones.join(" "), i.emails.join(" "));
            let key = crm_host::api::pagination::search_key(&[Some(&i.full_name), i.position.as_deref(), Some(&phones), Some(&emails)]);
            q = q.bind(tenant).bind(r.id).bind(i.counterparty_id).bind(&i.full_name).bind(&i.position)
                .bind(Json(&i.phones)).bind(Json(&i.emails)).bind(&i.note).bind(key).bind(r.at).bind(r.at);
        }
        q.execute(c).await.map(drop)
    })
}

async fn insert_deals(c: &mut Conn<'_>, tenant: Uuid, stages: &Stages, responsible: Uuid, rows: &[NewDeal]) -> sqlx::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO deals (tenant_id, id, title, pipeline_id, stage_id, counterparty_id, responsible_id, amount, currency, params, \
         search_key, stage_changed_at, created_at, updated_at) VALUES {}",
        values_list(c.engine(), rows.len(), 14)
    );
    let params = serde_json::json!({ "advance_percent": 90, "deferral_days": 60 });
    on_conn!(c, c => {
        let mut q = sqlx::query(&sql);
        for r in rows {
            let title = format!("Факторинг, поставки {}", r.i + 1);
            let key = title.to_lowercase();
            q = q.bind(tenant).bind(r.id).bind(title).bind(stages.pipeline).bind(r.stage).bind(r.counterparty)
                .bind(responsible).bind(r.amount).bind("RUB").bind(Json(&params)).bind(key).bind(r.at).bind(r.at).bind(r.at);
        }
        q.execute(c).await.map(drop)
    })
}

// ---------------------------------------------------------------------------------------
// Valid-looking requisites: every generated row passes the host's own validation.

const NAME_A: &[&str] = &[
    "Альфа", "Вектор", "Гранит", "Дельта", "Северный", "Восток", "Меридиан", "Сигма", "Волга", "Урал", "Сибирь", "Балтика",
    "Орион", "Парус", "Радуга", "Кедр", "Феникс", "Титан", "Импульс", "Ладога",
];
const NAME_B: &[&str] = &[
    "Строй", "Трейд", "Логистик", "Пром", "Энерго", "Металл", "Маркет", "Сервис", "Агро", "Инвест", "Снаб", "Транс", "Фарм",
    "Текстиль", "Софт",
];
const FORMS: &[(&str, &str)] = &[
    ("ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ", "ООО"),
    ("АКЦИОНЕРНОЕ ОБЩЕСТВО", "АО"),
    ("ПУБЛИЧНОЕ АКЦИОНЕРНОЕ ОБЩЕСТВО", "ПАО"),
];
/// (surname, its Latin spelling); the feminine form adds "а".
const SURNAMES: &[(&str, &str)] = &[
    ("Иванов", "ivanov"), ("Петров", "petrov"), ("Смирнов", "smirnov"), ("Кузнецов", "kuznetsov"), ("Соколов", "sokolov"),
    ("Попов", "popov"), ("Лебедев", "lebedev"), ("Козлов", "kozlov"), ("Новиков", "novikov"), ("Морозов", "morozov"),
    ("Волков", "volkov"), ("Алексеев", "alekseev"), ("Павлов", "pavlov"), ("Семенов", "semenov"), ("Голубев", "golubev"),
];
const MEN: &[(&str, &str)] = &[
    ("Алексей", "aleksey"), ("Дмитрий", "dmitry"), ("Сергей", "sergey"), ("Андрей", "andrey"), ("Михаил", "mikhail"),
    ("Игорь", "igor"), ("Павел", "pavel"), ("Николай", "nikolay"),
];
const WOMEN: &[(&str, &str)] = &[
    ("Мария", "maria"), ("Анна", "anna"), ("Елена", "elena"), ("Ольга", "olga"), ("Наталья", "natalia"), ("Татьяна", "tatiana"),
    ("Ирина", "irina"), ("Светлана", "svetlana"),
];
const PATRONYMICS: &[(&str, &str)] = &[
    ("Иванович", "Ивановна"), ("Петрович", "Петровна"), ("Сергеевич", "Сергеевна"), ("Александрович", "Александровна"),
    ("Викторович", "Викторовна"), ("Юрьевич", "Юрьевна"),
];
const POSITIONS: &[&str] = &["Генеральный директор", "Главный бухгалтер", "Финансовый директор", "Менеджер по закупкам", "Юрист"];
const CITIES: &[(&str, &str)] = &[
    ("г. Москва", "1027700"), ("г. Санкт-Петербург", "1027800"), ("г. Казань", "1021600"), ("г. Екатеринбург", "1026600"),
    ("г. Новосибирск", "1025400"),
];
const STREETS: &[&str] = &["ул. Ленина", "ул. Садовая", "пр-т Мира", "ул. Советская", "ул. Гагарина", "наб. Реки Мойки"];
/// (bank, BIC, correspondent account).
const BANKS: &[(&str, &str, &str)] = &[
    ("ПАО СБЕРБАНК", "044525225", "30101810400000000225"),
    ("БАНК ВТБ (ПАО)", "044525187", "30101810700000000187"),
    ("АО \"АЛЬФА-БАНК\"", "044525593", "30101810200000000593"),
];
const SEGMENTS: &[Option<&str>] = &[Some("factoring"), Some("leasing"), Some("trade"), None];
const TAGS: &[&[&str]] = &[&[], &[], &["vip"], &["просрочка"], &["new", "online"]];

fn pick<'a, T>(rng: &mut StdRng, xs: &'a [T]) -> &'a T {
    &xs[rng.random_range(0..xs.len())]
}

fn digits(s: &str) -> Vec<u32> {
    s.chars().filter_map(|c| c.to_digit(10)).collect()
}

fn weighted(d: &[u32], w: &[u32]) -> u32 {
    d.iter().zip(w).map(|(a, b)| a * b).sum::<u32>() % 11 % 10
}

/// A 10-digit ИНН numbered by `n` (unique while n < 10⁷), with its check digit.
fn inn10(n: usize) -> String {
    let body = format!("77{n:07}");
    format!("{body}{}", weighted(&digits(&body), &[2, 4, 10, 3, 5, 9, 4, 6, 8]))
}

/// A 12-digit ИНН numbered by `n`, with its two check digits.
fn inn12(n: usize) -> String {
    let mut body = format!("50{n:08}");
    let c11 = weighted(&digits(&body), &[7, 2, 4, 10, 3, 5, 9, 4, 6, 8]);
    body.push_str(&c11.to_string());
    let c12 = weighted(&digits(&body), &[3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]);
    format!("{body}{c12}")
}

fn ogrn13(prefix7: &str, n: usize) -> String {
    let body = format!("{prefix7}{:05}", n % 100_000);
    let check = body.parse::<u64>().unwrap_or_default() % 11 % 10;
    format!("{body}{check}")
}

fn ogrnip15(n: usize) -> String {
    let body = format!("30450{n:09}");
    let check = body.parse::<u64>().unwrap_or_default() % 13 % 10;
    format!("{body}{check}")
}

/// A settlement account at the bank whose BIC is given, with its control key.
fn account(bic: &str, n: usize) -> String {
    const W: [u32; 3] = [7, 1, 3];
    let acc = format!("407028100{n:011}");
    let d = digits(&format!("{}{acc}", &bic[6..9]));
    let sum: u32 = d.iter().enumerate().map(|(i, x)| x * W[i % 3]).sum();
    // The key is account digit 9, at weight 3; 3 × 7 ≡ 1 (mod 10).
    let key = (10 - sum % 10) % 10 * 7 % 10;
    format!("{}{key}{}", &acc[..8], &acc[9..])
}

/// (full name, surname with initials, Latin "first.surname" for an e-mail).
fn person(rng: &mut StdRng) -> (String, String, String) {
    let (surname, sur_lat) = *pick(rng, SURNAMES);
    let (men, women) = *pick(rng, PATRONYMICS);
    let female = rng.random_bool(0.5);
    let ((first, first_lat), patronymic, surname) = if female {
        (*pick(rng, WOMEN), women, format!("{surname}а"))
    } else {
        (*pick(rng, MEN), men, surname.to_string())
    };
    let initials = format!("{surname} {}. {}.", first.chars().next().unwrap_or('А'), patronymic.chars().next().unwrap_or('А'));
    let latin = format!("{first_lat}.{sur_lat}{}", if female { "a" } else { "" });
    (format!("{surname} {first} {patronymic}"), initials, latin)
}

fn gen_counterparty(i: usize, rng: &mut StdRng, responsible: UserId) -> anyhow::Result<CounterpartyInput> {
    let (city, ogrn_prefix) = *pick(rng, CITIES);
    let address = format!("{}, {city}, {}, д. {}", rng.random_range(101_000..199_999), pick(rng, STREETS), rng.random_range(1..150));
    let (bank, bic, corr) = *pick(rng, BANKS);
    let (kind, inn, kpp, ogrn, full_name, short_name) = match i % 10 {
        0..=6 => {
            let (form, short_form) = *pick(rng, FORMS);
            let name = format!("{}{}", pick(rng, NAME_A), pick(rng, NAME_B).to_lowercase()).to_uppercase();
            (
                CounterpartyKind::LegalEntity,
                Some(inn10(i)),
                Some(format!("{}01001", &inn10(i)[..4])),
                Some(ogrn13(ogrn_prefix, i)),
                format!("{form} \"{name}\""),
                Some(format!("{short_form} \"{name}\"")),
            )
        }
        7 | 8 => {
            let (fio, initials, _) = person(rng);
            (
                CounterpartyKind::SoleProprietor,
                Some(inn12(i)),
                None,
                Some(ogrnip15(i)),
                format!("Индивидуальный предприниматель {fio}"),
                Some(format!("ИП {initials}")),
            )
        }
        _ => {
            let (fio, _, _) = person(rng);
            (CounterpartyKind::NaturalPerson, None, None, None, fio, None)
        }
    };
    let mut input = CounterpartyInput {
        kind,
        inn,
        kpp,
        ogrn,
        full_name,
        short_name,
        legal_address: Some(address.clone()),
        postal_address: rng.random_bool(0.3).then_some(address),
        bank_name: Some(bank.into()),
        bank_bic: Some(bic.into()),
        bank_account: Some(account(bic, i)),
        bank_corr_account: Some(corr.into()),
        segment: pick(rng, SEGMENTS).map(str::to_string),
        responsible_id: rng.random_bool(0.8).then_some(responsible),
        payment_deferral_days: *pick(rng, &[0, 14, 30, 45, 60]),
        tags: pick(rng, TAGS).iter().map(|t| t.to_string()).collect(),
    };
    input.normalize_and_validate().map_err(|e| anyhow!("generated counterparty {i} is invalid: {e:?}"))?;
    Ok(input)
}

fn gen_contact(i: usize, j: usize, counterparty: Uuid, rng: &mut StdRng) -> anyhow::Result<ContactInput> {
    let (fio, _, latin) = person(rng);
    let mut input = ContactInput {
        counterparty_id: Some(CounterpartyId(counterparty)),
        full_name: fio,
        position: Some(POSITIONS[(i + j) % POSITIONS.len()].into()),
        phones: vec![format!(
            "+7 9{:02} {:03}-{:02}-{:02}",
            rng.random_range(0..100),
            rng.random_range(0..1000),
            rng.random_range(0..100),
            rng.random_range(0..100)
        )],
        emails: vec![format!("{latin}@client{i}.example.ru")],
        note: (j == 0 && i.is_multiple_of(3)).then(|| "Звонить после 11:00 по Москве".into()),
    };
    input.normalize_and_validate().map_err(|e| anyhow!("generated contact {i}/{j} is invalid: {e:?}"))?;
    Ok(input)
}

/// A pipeline of five stages (Лид 10 %, Переговоры 30 %, КП 60 %, Выиграна, Проиграна)
/// with `n` deals of `counterparties`: mostly open, spread over the next 12 months'
/// expected close dates, every stage change in the history. Returns the pipeline.
pub async fn seed_pipeline_deals(db: &Db, tenant: Uuid, responsible: Uuid, counterparties: &[Uuid], n: usize, seed: u64) -> anyhow::Result<Uuid> {
    let pipeline = Uuid::now_v7();
    let now = Utc::now();
    let stages: Vec<(Uuid, &str, i32, &str, i32)> = vec![
        (Uuid::now_v7(), "Лид", 1, "open", 10),
        (Uuid::now_v7(), "Переговоры", 2, "open", 30),
        (Uuid::now_v7(), "КП", 3, "open", 60),
        (Uuid::now_v7(), "Выиграна", 4, "won", 100),
        (Uuid::now_v7(), "Проиграна", 5, "lost", 0),
    ];
    {
        let mut tx = db.begin().await?;
        let c = &mut tx.conn();
        on_conn!(c, c => sqlx::query("INSERT INTO pipelines (tenant_id, id, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)")
            .bind(tenant).bind(pipeline).bind("Прогноз (бенч)").bind(now).execute(c).await.map(drop))?;
        for (id, name, position, kind, p) in &stages {
            let sql = "INSERT INTO stages (tenant_id, id, pipeline_id, name, position, kind, win_probability, created_at, updated_at) \
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)";
            on_conn!(c, c => sqlx::query(sql).bind(tenant).bind(*id).bind(pipeline).bind(*name).bind(*position)
                .bind(*kind).bind(*p).bind(now).execute(c).await.map(drop))?;
        }
        tx.commit().await?;
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let today = now.date_naive();
    let params = serde_json::json!({});
    // 300 deals × 14 columns per statement stays under both engines' bind limits.
    for start in (0..n).step_by(300) {
        let rows: Vec<(Uuid, usize)> = (start..(start + 300).min(n)).map(|i| (Uuid::now_v7(), i)).collect();
        let sql = format!(
            "INSERT INTO deals (tenant_id, id, title, pipeline_id, stage_id, counterparty_id, responsible_id, amount, currency, params, \
             search_key, expected_close_date, stage_changed_at, created_at, updated_at) VALUES {}",
            values_list(db.engine(), rows.len(), 15)
        );
        let hist = format!(
            "INSERT INTO deal_stage_history (tenant_id, id, deal_id, from_stage_id, to_stage_id, changed_by, changed_at) VALUES {}",
            values_list(db.engine(), rows.len(), 7)
        );
        let picks: Vec<(usize, i64, Option<chrono::NaiveDate>, DateTime<Utc>)> = rows
            .iter()
            .map(|_| {
                let stage = match rng.random_range(0..100) {
                    0..40 => 0,
                    40..65 => 1,
                    65..80 => 2,
                    80..90 => 3,
                    _ => 4,
                };
                let close = (rng.random_range(0..10) > 0).then(|| today + chrono::Duration::days(rng.random_range(0..365)));
                let at = now - chrono::Duration::days(rng.random_range(0..200));
                (stage, rng.random_range(100..50_000) * 10_000, close, at)
            })
            .collect();
        let mut tx = db.begin().await?;
        let c = &mut tx.conn();
        on_conn!(c, c => {
            let mut q = sqlx::query(&sql);
            for ((id, i), (stage, amount, close, at)) in rows.iter().zip(&picks) {
                let title = format!("Факторинг {}", i + 1);
                let key = title.to_lowercase();
                q = q.bind(tenant).bind(*id).bind(title).bind(pipeline).bind(stages[*stage].0).bind(counterparties[i % counterparties.len()])
                    .bind(responsible).bind(*amount).bind("RUB").bind(Json(&params)).bind(key).bind(*close).bind(*at).bind(*at).bind(*at);
            }
            q.execute(c).await.map(drop)
        })?;
        on_conn!(c, c => {
            let mut q = sqlx::query(&hist);
            for ((id, _), (stage, _, _, at)) in rows.iter().zip(&picks) {
                q = q.bind(tenant).bind(Uuid::now_v7()).bind(*id).bind(None::<Uuid>).bind(stages[*stage].0).bind(responsible).bind(*at);
            }
            q.execute(c).await.map(drop)
        })?;
        tx.commit().await?;
    }
    if db.engine() == Engine::Postgres {
        let mut read = db.read().await?;
        let c = &mut read.conn();
        on_conn!(c, c => sqlx::query("ANALYZE deals, deal_stage_history, stages").execute(c).await.map(drop))?;
    }
    Ok(pipeline)
}
