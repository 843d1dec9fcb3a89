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
