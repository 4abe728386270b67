//! serde's access traits over mappings and sequences, skipping nodes that already failed.

use super::Ctx;
use super::error::{At, DeError};
use super::node::Deser;
use crate::manifest::yaml::{Node, format_key};
use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeSeed, Visitor};

type Result<T> = std::result::Result<T, DeError>;

/// Entries of a mapping; entries whose key or value failed in an earlier pass are skipped.
pub(super) struct MapAcc<'a, 'p> {
    entries: std::slice::Iter<'a, (Node, Node)>,
    current: Option<(&'a Node, &'a Node, String)>,
    path: &'p str,
    ctx: &'a Ctx,
}

impl<'a, 'p> MapAcc<'a, 'p> {
    pub fn new(entries: &'a [(Node, Node)], path: &'p str, ctx: &'a Ctx) -> Self {
        MapAcc {
            entries: entries.iter(),
            current: None,
            path,
            ctx,
        }
    }
}

impl<'a> de::MapAccess<'a> for MapAcc<'a, '_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'a>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        for (key, value) in self.entries.by_ref() {
            if self.ctx.is_poisoned(key) || self.ctx.is_poisoned(value) {
                continue;
            }
            let path = format_key(self.path, key.scalar_text().unwrap_or_default());
            let k = seed.deserialize(KeyDeser {
                node: key,
                path: path.clone(),
            })?;
            self.current = Some((key, value, path));
            return Ok(Some(k));
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'a>>(&mut self, seed: V) -> Result<V::Value> {
        let (key, value, path) = self.current.take().expect("next_value_seed after next_key_seed");
        seed.deserialize(Deser {
            node: value,
            path,
            key_mark: Some(key.mark),
            ctx: self.ctx,
        })
    }
}

/// Items of a sequence; items that failed in an earlier pass are skipped.
pub(super) struct SeqAcc<'a, 'p> {
    items: std::iter::Enumerate<std::slice::Iter<'a, Node>>,
    path: &'p str,
    ctx: &'a Ctx,
}

impl<'a, 'p> SeqAcc<'a, 'p> {
    pub fn new(items: &'a [Node], path: &'p str, ctx: &'a Ctx) -> Self {
        SeqAcc {
            items: items.iter().enumerate(),
            path,
            ctx,
        }
    }
}

impl<'a> de::SeqAccess<'a> for SeqAcc<'a, '_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'a>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        for (i, node) in self.items.by_ref() {
            if self.ctx.is_poisoned(node) {
                continue;
            }
            let path = format!("{}[{i}]", self.path);
            return seed
                .deserialize(Deser {
                    node,
                    path,
                    key_mark: None,
                    ctx: self.ctx,
                })
                .map(Some);
        }
        Ok(None)
    }
}

/// A mapping key (always a scalar after parsing): read as its text, whatever its YAML type,
/// as Kubernetes turns every key into a JSON string.
pub(super) struct KeyDeser<'a> {
    pub node: &'a Node,
    pub path: String,
}

impl KeyDeser<'_> {
    fn locate(&self, mut e: DeError) -> DeError {
        if e.at.is_none() {
            e.at = Some(At {
                path: self.path.clone(),
                mark: self.node.mark,
                node: super::addr(self.node),
            });
        }
        e
    }
}

macro_rules! parsed_keys {
    ($($method:ident $visit:ident $ty:ident),*) => {$(
        fn $method<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value> {
            let text = self.node.scalar_text().unwrap_or_default();
            match text.parse::<$ty>() {
                Ok(v) => visitor.$visit(v).map_err(|e| self.locate(e)),
                Err(_) => Err(self.locate(de::Error::custom(format!(
                    "expected a key of type {}, found {text:?}", stringify!($ty)
                )))),
            }
        }
    )*};
}

impl<'a> de::Deserializer<'a> for KeyDeser<'a> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value> {
        let text = self.node.scalar_text().unwrap_or_default();
        visitor.visit_borrowed_str(text).map_err(|e| self.locate(e))
    }

    parsed_keys!(deserialize_i8 visit_i8 i8, deserialize_i16 visit_i16 i16, deserialize_i32 visit_i32 i32,
        deserialize_i64 visit_i64 i64, deserialize_u8 visit_u8 u8, deserialize_u16 visit_u16 u16,
        deserialize_u32 visit_u32 u32, deserialize_u64 visit_u64 u64, deserialize_bool visit_bool bool);

    fn deserialize_option<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'a>>(self, _: &'static str, visitor: V) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'a>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        let text = self.node.scalar_text().unwrap_or_default();
        visitor
            .visit_enum(BorrowedStrDeserializer::new(text))
            .map_err(|e| self.locate(e))
    }

    serde::forward_to_deserialize_any! {
        <W: Visitor<'a>>
        f32 f64 char str string bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        identifier ignored_any i128 u128
    }
}

/// An externally tagged enum written as a one-entry mapping, `{Variant: value}`.
pub(super) struct MapEnum<'a, 'p> {
    pub key: &'a Node,
    pub value: &'a Node,
    pub path: &'p str,
    pub ctx: &'a Ctx,
}

impl<'a> MapEnum<'a, '_> {
    fn value(&self) -> Deser<'a> {
        let path = format_key(self.path, self.key.scalar_text().unwrap_or_default());
        Deser {
            node: self.value,
            path,
            key_mark: None,
            ctx: self.ctx,
        }
    }
}

impl<'a> de::EnumAccess<'a> for MapEnum<'a, '_> {
    type Error = DeError;
    type Variant = Deser<'a>;

    fn variant_seed<T: DeserializeSeed<'a>>(self, seed: T) -> Result<(T::Value, Deser<'a>)> {
        let value = self.value();
        let key = KeyDeser {
            node: self.key,
            path: value.path.clone(),
        };
        Ok((seed.deserialize(key)?, value))
    }
}

impl<'a> de::VariantAccess<'a> for Deser<'a> {
    type Error = DeError;

    fn unit_variant(self) -> Result<()> {
        de::Deserialize::deserialize(self)
    }

    fn newtype_variant_seed<T: DeserializeSeed<'a>>(self, seed: T) -> Result<T::Value> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'a>>(self, _len: usize, visitor: V) -> Result<V::Value> {
        de::Deserializer::deserialize_seq(self, visitor)
    }

    fn struct_variant<V: Visitor<'a>>(self, _: &'static [&'static str], visitor: V) -> Result<V::Value> {
        de::Deserializer::deserialize_map(self, visitor)
    }
}
