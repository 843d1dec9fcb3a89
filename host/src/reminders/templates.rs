//! The reminders' template kinds (one renderer for every document, `crate::templates`): a
//! notice before the due date, an overdue notice, a short text for SMS and voice, and the
//! manager's task. Tenants replace them through `PUT /templates/{key}`; the title of the
//! rendered document is the e-mail's subject (the task's title), its paragraphs the text.

use serde_json::json;

use super::model::Channel;
use crate::templates::{Sample, TemplateKind, Variable, var};

/// The keys a step may name.
pub const KEYS: &[&str] = &["reminder_before", "reminder_overdue", "reminder_short", "reminder_task"];

pub const BEFORE: TemplateKind = TemplateKind {
    key: "reminder_before",
    title: "Напоминание о сроке оплаты (e-mail)",
    description: "A reminder e-mail sent before the due date and on it: the debts coming due (and any overdue ones).",
    default_source: include_str!("../../assets/templates/reminder_before.xml.j2"),
    variables: VARIABLES,
    samples,
};

pub const OVERDUE: TemplateKind = TemplateKind {
    key: "reminder_overdue",
    title: "Уведомление о просроченной задолженности (e-mail)",
    description: "A reminder e-mail after the due date: the overdue debts, with days overdue.",
    default_source: include_str!("../../assets/templates/reminder_overdue.xml.j2"),
    variables: VARIABLES,
    samples,
};

pub const SHORT: TemplateKind = TemplateKind {
    key: "reminder_short",
    title: "Короткое напоминание (SMS, голосовой звонок)",
    description: "The text of a reminder SMS or automated voice call: the document's paragraphs, without its title.",
    default_source: include_str!("../../assets/templates/reminder_short.xml.j2"),
    variables: VARIABLES,
    samples,
};

pub const TASK: TemplateKind = TemplateKind {
    key: "reminder_task",
    title: "Задача менеджеру по задолженности",
    description: "The task a reminder step gives the client's responsible manager: the title is the task's title, the paragraphs its description.",
    default_source: include_str!("../../assets/templates/reminder_task.xml.j2"),
    variables: VARIABLES,
    samples,
};

/// The kind named by a step's `template`.
pub fn kind_for(key: &str) -> Option<&'static TemplateKind> {
    [&BEFORE, &OVERDUE, &SHORT, &TASK].into_iter().find(|k| k.key == key)
}

/// Whether a template kind suits a channel.
pub fn fits(key: &str, channel: Channel) -> bool {
    match channel {
        Channel::Email => key == BEFORE.key || key == OVERDUE.key,
        Channel::Sms | Channel::Voice => key == SHORT.key,
        Channel::Task => key == TASK.key,
    }
}

/// The variables every reminder template gets.
pub const VARIABLES: &[Variable] = &[
    var!("client", Object, "the client"),
    var!("client.name", Text, "the client's name (short if it has one)"),
    var!("client.inn", Text?, "the client's ИНН"),
    var!("sender", Object, "who the message is from"),
    var!("sender.name", Text, "the client's responsible manager, or the tenant's name"),
    var!("our", Text?, "our legal entity that sold, when the rule names one"),
    var!("day", Date, "the day of the plan"),
    var!("upcoming", List, "the debts not yet due, by due date"),
    var!("upcoming[].number", Text, "the document's number"),
    var!("upcoming[].issued_on", Date, "its date"),
    var!("upcoming[].due_on", Date, "its due date"),
    var!("upcoming[].open", Money, "what is still owed on it"),
    var!("upcoming[].days_overdue", Integer, "negative: days left until the due date"),
    var!("overdue", List, "the overdue debts, by due date"),
    var!("overdue[].number", Text, "the document's number"),
    var!("overdue[].issued_on", Date, "its date"),
    var!("overdue[].due_on", Date, "its due date"),
    var!("overdue[].open", Money, "what is still owed on it"),
    var!("overdue[].days_overdue", Integer, "days overdue"),
    var!("total_upcoming", Money, "Σ open of `upcoming`"),
    var!("total_overdue", Money, "Σ open of `overdue`"),
];

fn samples() -> Vec<Sample> {
    let doc = |n: &str, issued: &str, due: &str, open: &str, days: i64| json!({"number": n, "issued_on": issued, "due_on": due, "open": open, "days_overdue": days});
    vec![
        Sample {
            key: "typical",
            title: "Скоро срок оплаты, и есть просрочка",
            data: json!({
                "client": {"name": "ООО «Ромашка»", "inn": "7719402047"},
                "sender": {"name": "Иванова Мария"},
                "our": "ООО «Север»",
                "day": "2026-04-27",
                "upcoming": [doc("0000-000101", "2026-03-30", "2026-04-30", "125000.00", -3)],
                "overdue": [doc("0000-000077", "2026-02-27", "2026-03-30", "40500.50", 28)],
                "total_upcoming": "125000.00",
                "total_overdue": "40500.50",
            }),
        },
        Sample {
            key: "overdue_only",
            title: "Только просрочка",
            data: json!({
                "client": {"name": "Петров Пётр Петрович", "inn": null},
                "sender": {"name": "ООО «Север»"},
                "our": null,
                "day": "2026-05-12",
                "upcoming": [],
                "overdue": [doc("0000-000202", "2026-04-01", "2026-05-04", "15000.00", 8)],
                "total_upcoming": "0.00",
                "total_overdue": "15000.00",
            }),
        },
    ]
}

/// The morning digest e-mail (`super::digest`): not a step's template, a kind of its own.
pub const DIGEST: TemplateKind = TemplateKind {
    key: "reminder_digest",
    title: "Утренняя сводка по задолженности (e-mail)",
    description: "The morning digest to heads (and managers who opted in, for their clients): owed and overdue with the change since yesterday, \
                  paid yesterday, newly overdue, forgotten debts, promises due and broken, the biggest overdue debts. The title is the subject.",
    default_source: include_str!("../../assets/templates/reminder_digest.xml.j2"),
    variables: DIGEST_VARIABLES,
    samples: digest_samples,
};

/// The variables of the digest template.
pub const DIGEST_VARIABLES: &[Variable] = &[
    var!("day", Date, "the digest's day"),
    var!("user", Object, "who it is for"),
    var!("user.name", Text, "the user's name"),
    var!("scope_all", Boolean, "true: every client (heads); false: the manager's own clients"),
    var!("owed", Money, "Σ open debts now"),
    var!("overdue", Money, "Σ open debts past their due date"),
    var!("owed_change", Money?, "change of `owed` since yesterday's snapshot; null without one"),
    var!("overdue_change", Money?, "change of `overdue` since yesterday's snapshot; null without one"),
    var!("buckets", List, "the debts by days overdue: not due, 1–30, 31–60, 61–90, over 90"),
    var!("buckets[].label", Text, "the bucket's name"),
    var!("buckets[].amount", Money, "Σ open debts in it"),
    var!("paid_total", Money, "Σ `paid`"),
    var!("paid", List, "the payments dated yesterday, by client"),
    var!("paid[].client", Text, "the client"),
    var!("paid[].amount", Money, "Σ its payments"),
    var!("newly_overdue", List, "debts overdue since yesterday or today"),
    var!("newly_overdue[].client", Text, "the client"),
    var!("newly_overdue[].number", Text, "the document's number"),
    var!("newly_overdue[].due_on", Date, "its due date"),
    var!("newly_overdue[].open", Money, "what is still owed on it"),
    var!("newly_overdue[].days_overdue", Integer, "days overdue"),
    var!("forgotten_days", Integer, "the tenant's setting: no work in this many days makes a debt forgotten"),
    var!("forgotten", List, "clients with overdue debt and no interaction, task or reminder in `forgotten_days` days"),
    var!("forgotten[].client", Text, "the client"),
    var!("forgotten[].overdue", Money, "its overdue debt"),
    var!("forgotten[].days_overdue", Integer, "days overdue of its oldest debt"),
    var!("promises_due", List, "promises to pay due today"),
    var!("promises_due[].client", Text, "the client"),
    var!("promises_due[].amount", Money, "the promised amount"),
    var!("promises_due[].promised_on", Date, "the promised day"),
    var!("promises_due[].missing", Money, "what is still missing of it"),
    var!("promises_broken", List, "promises found broken yesterday or today"),
    var!("promises_broken[].client", Text, "the client"),
    var!("promises_broken[].amount", Money, "the promised amount"),
    var!("promises_broken[].promised_on", Date, "the promised day"),
    var!("promises_broken[].missing", Money, "what was missing of it"),
    var!("top_overdue", List, "the 10 biggest overdue debts"),
    var!("top_overdue[].client", Text, "the client"),
    var!("top_overdue[].number", Text, "the document's number"),
    var!("top_overdue[].due_on", Date, "its due date"),
    var!("top_overdue[].open", Money, "what is still owed on it"),
    var!("top_overdue[].days_overdue", Integer, "days overdue"),
    var!("top_overdue[].disputed", Boolean, "the client disputes it"),
    var!("links", Object, "addresses of the host's pages"),
    var!("links.receivables", Text, "the report «Нам должны»"),
    var!("links.digest", Text, "this digest on the site"),
    var!("links.log", Text, "the reminders' delivery log"),
];

/// The template's data for a digest.
pub fn digest_data(d: &super::digest::Digest) -> serde_json::Value {
    let debt = |l: &super::digest::DebtLine| json!({"client": l.client, "number": l.number, "due_on": l.due_on, "open": l.open, "days_overdue": l.days_overdue});
    let promise = |p: &super::digest::PromiseLine| json!({"client": p.client, "amount": p.amount, "promised_on": p.promised_on, "missing": p.missing});
    json!({
        "day": d.day,
        "user": {"name": d.user_name},
        "scope_all": d.scope == super::digest::Scope::All,
        "owed": d.owed,
        "overdue": d.overdue,
        "owed_change": d.owed_change,
        "overdue_change": d.overdue_change,
        "buckets": d.buckets.iter().map(|b| json!({"label": b.label, "amount": b.amount})).collect::<Vec<_>>(),
        "paid_total": d.paid_total,
        "paid": d.paid.iter().map(|p| json!({"client": p.client, "amount": p.amount})).collect::<Vec<_>>(),
        "newly_overdue": d.newly_overdue.iter().map(debt).collect::<Vec<_>>(),
        "forgotten_days": d.forgotten_days,
        "forgotten": d.forgotten.iter().map(|f| json!({"client": f.client, "overdue": f.overdue, "days_overdue": f.days_overdue})).collect::<Vec<_>>(),
        "promises_due": d.promises_due.iter().map(promise).collect::<Vec<_>>(),
        "promises_broken": d.promises_broken.iter().map(promise).collect::<Vec<_>>(),
        "top_overdue": d.top_overdue.iter().map(|l| { let mut v = debt(l); v["disputed"] = json!(l.disputed); v }).collect::<Vec<_>>(),
        "links": {"receivables": d.links.receivables, "digest": d.links.digest, "log": d.links.log},
    })
}

fn digest_samples() -> Vec<Sample> {
    let debt = |client: &str, n: &str, due: &str, open: &str, days: i64| json!({"client": client, "number": n, "due_on": due, "open": open, "days_overdue": days});
    let bucket = |label: &str, amount: &str| json!({"label": label, "amount": amount});
    let links = json!({"receivables": "https://crm.example.ru/receivables", "digest": "https://crm.example.ru/reminders/digest?date=2026-05-14", "log": "https://crm.example.ru/reminders/log"});
    let mut top = debt("ООО «Ромашка»", "0000-000077", "2026-03-30", "640500.50", 45);
    top["disputed"] = json!(false);
    let mut disputed = debt("ООО «Лютик»", "0000-000081", "2026-04-10", "120000.00", 34);
    disputed["disputed"] = json!(true);
    vec![
        Sample {
            key: "typical",
            title: "Обычное утро руководителя",
            data: json!({
                "day": "2026-05-14",
                "user": {"name": "Смирнова Ольга"},
                "scope_all": true,
                "owed": "1885500.50",
                "overdue": "760500.50",
                "owed_change": "-125000.00",
                "overdue_change": "40000.00",
                "buckets": [bucket("Срок не наступил", "1125000.00"), bucket("1–30 дн.", "0.00"), bucket("31–60 дн.", "760500.50"), bucket("61–90 дн.", "0.00"), bucket("Более 90 дн.", "0.00")],
                "paid_total": "125000.00",
                "paid": [{"client": "ООО «Север»", "amount": "125000.00"}],
                "newly_overdue": [debt("ИП Петров П. П.", "0000-000102", "2026-05-12", "40000.00", 2)],
                "forgotten_days": 14,
                "forgotten": [{"client": "ООО «Лютик»", "overdue": "120000.00", "days_overdue": 34}],
                "promises_due": [{"client": "ООО «Ромашка»", "amount": "100000.00", "promised_on": "2026-05-14", "missing": "100000.00"}],
                "promises_broken": [{"client": "ИП Петров П. П.", "amount": "50000.00", "promised_on": "2026-05-13", "missing": "10000.00"}],
                "top_overdue": [top, disputed],
                "links": links,
            }),
        },
        Sample {
            key: "quiet",
            title: "Менеджер, долгов нет",
            data: json!({
                "day": "2026-05-15",
                "user": {"name": "Иванова Мария"},
                "scope_all": false,
                "owed": "0.00",
                "overdue": "0.00",
                "owed_change": null,
                "overdue_change": null,
                "buckets": [bucket("Срок не наступил", "0.00")],
                "paid_total": "0.00",
                "paid": [],
                "newly_overdue": [],
                "forgotten_days": 14,
                "forgotten": [],
                "promises_due": [],
                "promises_broken": [],
                "top_overdue": [],
                "links": links,
            }),
        },
    ]
}
