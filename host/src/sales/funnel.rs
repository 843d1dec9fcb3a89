//! The funnel from the stage history: how many deals reached each stage, how many went
//! on, how long they stayed, and who is stuck past the stage's norm.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::deals::pipelines::{Stage, StageKind};
use crate::deals::{DealId, StageId};
use crate::tenancy::UserId;

use super::model::{StageStats, StuckDeal};

/// The funnel of `stages` from each deal's stage changes (`history`, per deal in order)
/// and where the deals are now (`current`), as of `now`.
pub fn funnel(
    stages: &[Stage],
    history: &[(DealId, StageId, DateTime<Utc>)],
    current: &[(DealId, String, StageId, UserId, DateTime<Utc>)],
    norms: &HashMap<StageId, i32>,
    now: DateTime<Utc>,
) -> (Vec<StageStats>, Vec<StuckDeal>) {
    let by_id: HashMap<StageId, &Stage> = stages.iter().map(|s| (s.id, s)).collect();
    let mut ordered: Vec<&Stage> = stages.iter().collect();
    ordered.sort_by_key(|s| s.position);
    // Open and won stages make the funnel, in order; a lost stage is an exit.
    let funnel_positions: Vec<i32> = ordered.iter().filter(|s| s.kind != StageKind::Lost).map(|s| s.position).collect();

    let mut reached: HashMap<StageId, i64> = HashMap::new();
    let mut went_on: HashMap<StageId, i64> = HashMap::new();
    let mut durations: HashMap<StageId, Vec<f64>> = HashMap::new();
    let mut i = 0;
    while i < history.len() {
        let deal = history[i].0;
        let mut j = i;
        while j < history.len() && history[j].0 == deal {
            j += 1;
        }
        let steps = &history[i..j];
        // Days at each stop: until the next change, or until now while still there.
        for (k, (_, stage, at)) in steps.iter().enumerate() {
            let Some(s) = by_id.get(stage) else { continue };
            let until = match steps.get(k + 1) {
                Some((_, _, next)) => *next,
                None if s.kind == StageKind::Open => now,
                None => continue,
            };
            durations.entry(*stage).or_default().push((until - *at).num_seconds().max(0) as f64 / 86_400.0);
        }
        let positions: Vec<(i32, StageKind)> = steps.iter().filter_map(|(_, s, _)| by_id.get(s).map(|s| (s.position, s.kind))).collect();
        let first = positions.iter().filter(|(_, k)| *k != StageKind::Lost).map(|(p, _)| *p).next();
        let furthest = positions.iter().filter(|(_, k)| *k != StageKind::Lost).map(|(p, _)| *p).max();
        if let (Some(first), Some(furthest)) = (first, furthest) {
            // A deal reached every funnel stage from where it started to the furthest it got
            // (a change-of-terms deal that starts at «Сбор документов» never reached the first three).
            for s in ordered.iter().filter(|s| s.kind != StageKind::Lost && s.position >= first && s.position <= furthest) {
                *reached.entry(s.id).or_default() += 1;
                if s.position < furthest {
                    *went_on.entry(s.id).or_default() += 1;
                }
            }
        }
        for (_, stage, _) in steps {
            if by_id.get(stage).is_some_and(|s| s.kind == StageKind::Lost) {
                *reached.entry(*stage).or_default() += 1;
            }
        }
        i = j;
    }

    let mut here: HashMap<StageId, i64> = HashMap::new();
    let mut stuck = Vec::new();
    for (deal, title, stage, who, since) in current {
        *here.entry(*stage).or_default() += 1;
        let Some(s) = by_id.get(stage) else { continue };
        if s.kind != StageKind::Open {
            continue;
        }
        if let Some(norm) = norms.get(stage) {
            let days = (now - *since).num_days();
            if days > i64::from(*norm) {
                stuck.push(StuckDeal { deal_id: *deal, title: title.clone(), stage_id: *stage, responsible_id: *who, since: *since, days, norm_days: *norm });
            }
        }
    }
    stuck.sort_by(|a, b| b.days.cmp(&a.days).then(a.deal_id.cmp(&b.deal_id)));

    let last_funnel = funnel_positions.last().copied();
    let stats = ordered
        .iter()
        .map(|s| {
            let r = reached.get(&s.id).copied().unwrap_or(0);
            let converted = (s.kind != StageKind::Lost && Some(s.position) != last_funnel && r > 0)
                .then(|| (Decimal::from(went_on.get(&s.id).copied().unwrap_or(0)) / Decimal::from(r)).round_dp(4).normalize());
            let median_days = durations.get_mut(&s.id).and_then(|d| median(d)).and_then(|m| Decimal::try_from(m).ok()).map(|d| d.round_dp(1).normalize());
            StageStats {
                stage_id: s.id,
                name: s.name.clone(),
                position: s.position,
                kind: s.kind,
                reached: r,
                converted,
                median_days,
                now: here.get(&s.id).copied().unwrap_or(0),
                norm_days: norms.get(&s.id).copied(),
                stuck: stuck.iter().filter(|d| d.stage_id == s.id).count() as i64,
            }
        })
        .collect();
    stuck.truncate(200);
    (stats, stuck)
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 })
}
