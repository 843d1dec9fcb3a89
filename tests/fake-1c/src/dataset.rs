//! [`Dataset`]: records held in memory as JSON objects, editable between two syncs.

use std::borrow::Cow;
use std::collections::BTreeSet;

use anyhow::{Context as _, bail};
use serde_json::{Map, Value};

use crate::json;
use crate::{EntitySet, Scalar, Select, Source};

/// A base held in memory: per entity set, JSON objects kept sorted by `Ref_Key`.
///
/// Records are served as stored (floats written the way 1C writes them, `1500000`
/// rather than `1500000.0`). A test changes 1C's data between two syncs with
/// [`upsert`](Dataset::upsert), [`set_field`](Dataset::set_field) and
/// [`remove`](Dataset::remove), then hands the new state to the running server with
/// [`FakeOneC::replace_source`](crate::FakeOneC::replace_source).
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    sets: [Vec<Value>; 7],
    /// Every property name seen in each set (a property stays known after its last
    /// record goes, as it would in 1C's metadata).
    properties: [BTreeSet<String>; 7],
}

impl PartialEq for Dataset {
    fn eq(&self, other: &Dataset) -> bool {
        self.sets == other.sets
    }
}

fn ref_key(record: &Value) -> Option<&str> {
    record.get("Ref_Key")?.as_str()
}

impl Dataset {
    /// An empty base.
    pub fn new() -> Dataset {
        Dataset::default()
    }

    /// Every record of `source`, read through its JSON (a [`crate::Generated`] base
    /// turned into an editable one).
    pub fn from_source(source: &dyn Source) -> Dataset {
        let mut ds = Dataset::new();
        let mut buf = Vec::new();
        for set in EntitySet::ALL {
            let records = (0..source.len(set))
                .map(|i| {
                    buf.clear();
                    source.write_record(set, i, &Select::all(), &mut buf);
                    serde_json::from_slice(&buf).unwrap_or_else(|e| panic!("{set} record {i} is not JSON: {e}"))
                })
                .collect::<Vec<Value>>();
            ds.extend(set, records);
        }
        ds
    }

    /// Adds (or replaces, by `Ref_Key`) records of `set`.
    ///
    /// # Panics
    /// When a record is not an object with a string `Ref_Key`.
    pub fn extend(&mut self, set: EntitySet, records: impl IntoIterator<Item = Value>) {
        let (all, properties) = (&mut self.sets[set.index()], &mut self.properties[set.index()]);
        for r in records {
            match r.as_object() {
                Some(map) if ref_key(&r).is_some() => properties.extend(map.keys().cloned()),
                _ => panic!("a {set} record must be an object with a string Ref_Key: {r}"),
            }
            all.push(r);
        }
        // Stable: among equal keys the last added comes last; keep that one.
        all.sort_by(|a, b| ref_key(a).cmp(&ref_key(b)));
        all.reverse();
        all.dedup_by(|a, b| ref_key(a) == ref_key(b));
        all.reverse();
    }

    /// `self` with `records` added to `set` (a builder form of [`extend`](Dataset::extend)).
    pub fn with(mut self, set: EntitySet, records: impl IntoIterator<Item = Value>) -> Dataset {
        self.extend(set, records);
        self
    }

    /// The records of `set`, in `Ref_Key` order.
    pub fn records(&self, set: EntitySet) -> &[Value] {
        &self.sets[set.index()]
    }

    fn find(&self, set: EntitySet, key: &str) -> Result<usize, usize> {
        self.sets[set.index()].binary_search_by(|r| ref_key(r).unwrap_or_default().cmp(key))
    }

    /// The record of `set` whose `Ref_Key` is `key`.
    pub fn get(&self, set: EntitySet, key: &str) -> Option<&Value> {
        self.find(set, key).ok().map(|i| &self.sets[set.index()][i])
    }

    /// Inserts `record`, or replaces the record with the same `Ref_Key`; returns the
    /// replaced one.
    ///
    /// # Panics
    /// When `record` is not an object with a string `Ref_Key` (a mistake in the test).
    pub fn upsert(&mut self, set: EntitySet, record: Value) -> Option<Value> {
        let key = match ref_key(&record) {
            Some(k) if record.is_object() => k.to_owned(),
            _ => panic!("a {set} record must be an object with a string Ref_Key: {record}"),
        };
        if let Some(map) = record.as_object() {
            self.properties[set.index()].extend(map.keys().cloned());
        }
        let at = self.find(set, &key);
        let records = &mut self.sets[set.index()];
        match at {
            Ok(i) => Some(std::mem::replace(&mut records[i], record)),
            Err(i) => {
                records.insert(i, record);
                None
            }
        }
    }

    /// Sets `field` of the record `key` of `set`; false when there is no such record.
    /// Changing `Ref_Key` moves the record to its new place in the order.
    pub fn set_field(&mut self, set: EntitySet, key: &str, field: &str, value: impl Into<Value>) -> bool {
        let Ok(i) = self.find(set, key) else { return false };
        self.properties[set.index()].insert(field.to_owned());
        let records = &mut self.sets[set.index()];
        if let Some(map) = records[i].as_object_mut() {
            map.insert(field.to_owned(), value.into());
        }
        if field == "Ref_Key" {
            let record = records.remove(i);
            self.upsert(set, record);
        }
        true
    }

    /// Removes the record `key` of `set` (deleted outright in 1C, not just marked).
    pub fn remove(&mut self, set: EntitySet, key: &str) -> Option<Value> {
        let i = self.find(set, key).ok()?;
        Some(self.sets[set.index()].remove(i))
    }

    /// The whole base as one JSON object: `{"<EntitySet>": [records…], …}`.
    pub fn to_json(&self) -> Value {
        Value::Object(EntitySet::ALL.iter().map(|s| (s.name().to_owned(), Value::Array(self.records(*s).to_vec()))).collect())
    }

    /// Reads what [`to_json`](Dataset::to_json) writes (sets may be missing).
    pub fn from_json(value: &Value) -> anyhow::Result<Dataset> {
        let map: &Map<String, Value> = value.as_object().context("a dataset is a JSON object keyed by entity set")?;
        let mut ds = Dataset::new();
        for (name, records) in map {
            let set = EntitySet::from_name(name).with_context(|| format!("unknown entity set {name}"))?;
            let records = records.as_array().with_context(|| format!("{name} is not an array"))?;
            for r in records {
                if ref_key(r).is_none() || !r.is_object() {
                    bail!("a {name} record is not an object with a string Ref_Key: {r}");
                }
            }
            ds.extend(set, records.iter().cloned());
        }
        Ok(ds)
    }
}

impl Source for Dataset {
    fn len(&self, set: EntitySet) -> usize {
        self.sets[set.index()].len()
    }

    fn has_property(&self, set: EntitySet, name: &str) -> bool {
        set.properties().contains(&name) || self.properties[set.index()].contains(name)
    }

    fn value(&self, set: EntitySet, index: usize, name: &str) -> Scalar<'_> {
        match self.sets[set.index()].get(index).and_then(|r| r.get(name)) {
            Some(Value::String(s)) => Scalar::Text(Cow::Borrowed(s)),
            Some(Value::Bool(b)) => Scalar::Bool(*b),
            Some(Value::Number(n)) => n.as_f64().map_or(Scalar::Null, Scalar::Number),
            _ => Scalar::Null,
        }
    }

    fn write_record(&self, set: EntitySet, index: usize, select: &Select, out: &mut Vec<u8>) {
        out.push(b'{');
        if let Some(Value::Object(map)) = self.sets[set.index()].get(index) {
            let mut first = true;
            for (k, v) in map.iter().filter(|(k, _)| select.includes(k)) {
                if !first {
                    out.push(b',');
                }
                first = false;
                json::write_str(out, k);
                out.push(b':');
                json::write_value(out, v);
            }
        }
        out.push(b'}');
    }

    fn position(&self, set: EntitySet, key: &str) -> Option<usize> {
        self.find(set, key).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cp(key: &str, name: &str) -> Value {
        json!({"Ref_Key": key, "Description": name, "DeletionMark": false, "Сумма": 1500000.0})
    }

    #[test]
    fn records_stay_in_ref_key_order_through_upserts_edits_and_removals() {
        let mut ds = Dataset::new().with(EntitySet::Counterparties, [cp("c", "C"), cp("a", "A"), cp("b", "B")]);
        let keys = |ds: &Dataset| ds.records(EntitySet::Counterparties).iter().map(|r| r["Ref_Key"].clone()).collect::<Vec<_>>();
        assert_eq!(keys(&ds), ["a", "b", "c"]);
        assert_eq!(ds.upsert(EntitySet::Counterparties, cp("b", "B2")).map(|r| r["Description"].clone()), Some(json!("B")));
        assert_eq!(ds.get(EntitySet::Counterparties, "b").unwrap()["Description"], "B2");
        assert!(ds.set_field(EntitySet::Counterparties, "a", "DeletionMark", true));
        assert!(!ds.set_field(EntitySet::Counterparties, "zz", "DeletionMark", true));
        assert!(ds.set_field(EntitySet::Counterparties, "a", "Ref_Key", "d"));
        assert_eq!(keys(&ds), ["b", "c", "d"]);
        assert_eq!(ds.get(EntitySet::Counterparties, "d").unwrap()["DeletionMark"], true);
        assert!(ds.remove(EntitySet::Counterparties, "c").is_some());
        assert!(ds.remove(EntitySet::Counterparties, "c").is_none());
        assert_eq!(keys(&ds), ["b", "d"]);
        assert_eq!(ds.position(EntitySet::Counterparties, "d"), Some(1));
    }

    #[test]
    fn a_dataset_round_trips_through_its_json() {
        let ds = crate::generate::demo(chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap());
        let text = serde_json::to_string(&ds.to_json()).unwrap();
        let back = Dataset::from_json(&serde_json::from_str(&text).unwrap()).unwrap();
        assert_eq!(back, ds);
        assert!(Dataset::from_json(&json!({"Catalog_Нет": []})).is_err());
        assert!(Dataset::from_json(&json!({"Catalog_Контрагенты": [{"Description": "no key"}]})).is_err());
    }

    #[test]
    fn written_records_carry_floats_as_1c_writes_them_and_only_selected_properties() {
        let ds = Dataset::new().with(EntitySet::Counterparties, [cp("a", "ООО \"А\"")]);
        let mut out = Vec::new();
        ds.write_record(EntitySet::Counterparties, 0, &Select::all(), &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("\"Сумма\":1500000}") || text.contains("\"Сумма\":1500000,"), "{text}");
        assert!(text.contains(r#""Description":"ООО \"А\"""#), "{text}");
        let mut out = Vec::new();
        ds.write_record(EntitySet::Counterparties, 0, &Select::parse("Ref_Key"), &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), r#"{"Ref_Key":"a"}"#);
    }

    #[test]
    fn properties_are_known_from_the_standard_list_and_from_records() {
        let ds = Dataset::new().with(EntitySet::Sales, [json!({"Ref_Key": "a", "Свое_Поле": 1})]);
        assert!(ds.has_property(EntitySet::Sales, "Свое_Поле"));
        assert!(ds.has_property(EntitySet::Payments, "ВидОперации"));
        assert!(!ds.has_property(EntitySet::Sales, "Договор_Key"));
    }
}
