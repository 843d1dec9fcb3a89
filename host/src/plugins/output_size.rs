//! How large a plugin's output is, as the JSON the host would show for it — counted, not
//! built, and only up to the world's output limit, so a huge output costs no more to
//! refuse than an output at the limit costs to accept.
//!
//! Two passes: the bytes of the output's strings, a lower bound of its JSON found without
//! scanning them (escaping a string scans it byte by byte, slow for a huge one), and only
//! when that is within the limit the exact JSON size, which then scans at most the limit.

use serde::Serialize;
use serde::ser;

/// True when `out` as JSON would be larger than `limit` bytes.
pub fn over_limit<T: Serialize>(out: &T, limit: usize) -> bool {
    if out.serialize(&mut TextBytes { bytes: 0, limit }).is_err() {
        return true;
    }
    let mut count = Count { bytes: 0, limit };
    let _ = serde_json::to_writer(&mut count, out);
    count.bytes > limit
}

struct Count {
    bytes: usize,
    limit: usize,
}

impl std::io::Write for Count {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes += buf.len();
        if self.bytes > self.limit {
            return Err(std::io::Error::other("over the output limit"));
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sums the lengths of strings and keys; fails as soon as they pass the limit.
struct TextBytes {
    bytes: usize,
    limit: usize,
}

#[derive(Debug)]
struct Over;

impl std::fmt::Display for Over {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("over the output limit")
    }
}

impl std::error::Error for Over {}

impl ser::Error for Over {
    fn custom<M: std::fmt::Display>(_: M) -> Over {
        Over
    }
}

impl TextBytes {
    fn add(&mut self, n: usize) -> Result<(), Over> {
        self.bytes = self.bytes.saturating_add(n);
        if self.bytes > self.limit { Err(Over) } else { Ok(()) }
    }
}

macro_rules! nothing {
    ($($f:ident($t:ty)),*) => { $(fn $f(self, _: $t) -> Result<(), Over> { Ok(()) })* };
}

impl ser::Serializer for &mut TextBytes {
    type Ok = ();
    type Error = Over;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    nothing!(serialize_bool(bool), serialize_i8(i8), serialize_i16(i16), serialize_i32(i32), serialize_i64(i64), serialize_i128(i128));
    nothing!(serialize_u8(u8), serialize_u16(u16), serialize_u32(u32), serialize_u64(u64), serialize_u128(u128));
    nothing!(serialize_f32(f32), serialize_f64(f64), serialize_char(char), serialize_unit_struct(&'static str));

    fn serialize_str(self, v: &str) -> Result<(), Over> {
        self.add(v.len())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Over> {
        self.add(v.len())
    }
    fn serialize_none(self) -> Result<(), Over> {
        Ok(())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, v: &T) -> Result<(), Over> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Over> {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<(), Over> {
        self.add(variant.len())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _: &'static str, v: &T) -> Result<(), Over> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(self, _: &'static str, _: u32, variant: &'static str, v: &T) -> Result<(), Over> {
        self.add(variant.len())?;
        v.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self, Over> {
        Ok(self)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self, Over> {
        Ok(self)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self, Over> {
        Ok(self)
    }
    fn serialize_tuple_variant(self, _: &'static str, _: u32, variant: &'static str, _: usize) -> Result<Self, Over> {
        self.add(variant.len())?;
        Ok(self)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self, Over> {
        Ok(self)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Over> {
        Ok(self)
    }
    fn serialize_struct_variant(self, _: &'static str, _: u32, variant: &'static str, _: usize) -> Result<Self, Over> {
        self.add(variant.len())?;
        Ok(self)
    }
}

macro_rules! elements {
    ($($trait:ident :: $f:ident),*) => {$(
        impl ser::$trait for &mut TextBytes {
            type Ok = ();
            type Error = Over;
            fn $f<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), Over> {
                v.serialize(&mut **self)
            }
            fn end(self) -> Result<(), Over> {
                Ok(())
            }
        }
    )*};
}

elements!(SerializeSeq::serialize_element, SerializeTuple::serialize_element, SerializeTupleStruct::serialize_field, SerializeTupleVariant::serialize_field);

impl ser::SerializeMap for &mut TextBytes {
    type Ok = ();
    type Error = Over;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, k: &T) -> Result<(), Over> {
        k.serialize(&mut **self)
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), Over> {
        v.serialize(&mut **self)
    }
    fn end(self) -> Result<(), Over> {
        Ok(())
    }
}

macro_rules! fields {
    ($($trait:ident),*) => {$(
        impl ser::$trait for &mut TextBytes {
            type Ok = ();
            type Error = Over;
            fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, v: &T) -> Result<(), Over> {
                self.add(key.len())?;
                v.serialize(&mut **self)
            }
            fn end(self) -> Result<(), Over> {
                Ok(())
            }
        }
    )*};
}

fields!(SerializeStruct, SerializeStructVariant);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_size_is_the_json_size_and_a_huge_string_is_refused_without_scanning_it() {
        #[derive(Serialize)]
        struct Out {
            name: String,
            tags: Vec<String>,
            n: Option<u32>,
        }
        let small = Out { name: "ООО \"Ромашка\"".into(), tags: vec!["a".into(), "b\n".into()], n: Some(7) };
        let json = serde_json::to_string(&small).unwrap().len();
        assert!(!over_limit(&small, json), "exactly at the limit is allowed");
        assert!(over_limit(&small, json - 1), "one byte over is refused (escapes count)");
        let huge = Out { name: "X".repeat(64 << 20), tags: vec![], n: None };
        let started = std::time::Instant::now();
        assert!(over_limit(&huge, 1 << 20));
        assert!(started.elapsed() < std::time::Duration::from_millis(500), "refused without scanning: {:?}", started.elapsed());
    }
}
