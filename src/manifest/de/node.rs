//! `serde::Deserializer` over one [`Node`], with Kubernetes' typing of plain scalars.

use super::access::{KeyDeser, MapAcc, MapEnum, SeqAcc};
use super::error::{At, DeError};
use super::{Ctx, FieldIssue, INT_OR_STRING, RAW_SCALAR, addr};
use crate::manifest::yaml::{Mark, Node, NodeValue, Resolved, ScalarStyle, format_key, resolve_plain};
use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, Visitor};

/// What a node holds once its plain scalars are resolved.
enum Kind<'a> {
    Null,
    Str(&'a str),
    Bool(bool),
    Int(i128),
    Float(f64),
    Seq(&'a [Node]),
    Map(&'a [(Node, Node)]),
}

/// Deserializes one node; `path` names it, `key_mark` is set when it is a mapping value.
pub(super) struct Deser<'a> {
    pub node: &'a Node,
    pub path: String,
    pub key_mark: Option<Mark>,
    pub ctx: &'a Ctx,
}

type Result<T> = std::result::Result<T, DeError>;

impl<'a> Deser<'a> {
    fn kind(&self) -> Kind<'a> {
        match &self.node.value {
            NodeValue::Null => Kind::Null,
            NodeValue::Seq(items) => Kind::Seq(items),
            NodeValue::Map(entries) => Kind::Map(entries),
            NodeValue::Scalar {
                text,
                style: ScalarStyle::Plain,
            } => match resolve_plain(text) {
                Resolved::Null => Kind::Null,
                Resolved::Bool(b) => Kind::Bool(b),
                Resolved::Int(i) => Kind::Int(i),
                Resolved::Float(f) => Kind::Float(f),
                Resolved::Str => Kind::Str(text),
            },
            NodeValue::Scalar { text, .. } => Kind::Str(text),
        }
    }

    fn at(&self) -> At {
        At {
            path: self.path.clone(),
            mark: self.node.mark,
            node: addr(self.node),
        }
    }

    fn error(&self, message: String) -> DeError {
        DeError::new(message, Some(self.at()))
    }

    /// Gives an error raised by a visitor this node's location, unless a deeper node did.
    fn locate(&self, mut e: DeError) -> DeError {
        if e.at.is_none() {
            e.at = Some(self.at());
        }
        e
    }

    fn mismatch(&self, expected: &str) -> DeError {
        let found = self.node.describe();
        let hint = match (&self.node.value, self.kind()) {
            (NodeValue::Scalar { text, .. }, Kind::Int(_) | Kind::Float(_) | Kind::Bool(_))
                if expected == "a string" =>
            {
                format!(" (quote it: \"{text}\")")
            }
            _ => String::new(),
        };
        self.error(format!("expected {expected}, found {found}{hint}"))
    }

    fn visit_mapping<V: Visitor<'a>>(&self, entries: &'a [(Node, Node)], visitor: V) -> Result<V::Value> {
        let acc = MapAcc::new(entries, &self.path, self.ctx);
        visitor.visit_map(acc).map_err(|mut e| {
            if e.at.is_some() {
                return e;
            }
            let Some(field) = e.missing else {
                return self.locate(e);
            };
            // A required field whose value was skipped after an error of its own is not
            // reported again; this mapping is then skipped in turn.
            e.silent = entries
                .iter()
                .any(|(k, v)| k.scalar_text() == Some(field) && (self.ctx.is_poisoned(v) || self.ctx.is_poisoned(k)));
            e.at = Some(At {
                path: format_key(&self.path, field),
                mark: self.node.mark,
                node: addr(self.node),
            });
            e
        })
    }

    fn integer(&self) -> Result<i128> {
        match self.kind() {
            Kind::Int(i) => Ok(i),
            // sigs.k8s.io/yaml writes integral floats as JSON integers (`1e3`, `2.0`).
            Kind::Float(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e19 => Ok(f as i128),
            Kind::Null => Ok(0),
            _ => Err(self.mismatch("an integer")),
        }
    }

    fn ranged<T: TryFrom<i128>>(&self, ty: &str) -> Result<T> {
        let v = self.integer()?;
        T::try_from(v).map_err(|_| self.error(format!("integer {v} is out of range for {ty}")))
    }
}

macro_rules! integers {
    ($($method:ident $visit:ident $ty:ident),*) => {$(
        fn $method<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value> {
            let v: $ty = self.ranged(stringify!($ty))?;
            visitor.$visit(v).map_err(|e| self.locate(e))
        }
    )*};
}

impl<'a> de::Deserializer<'a> for Deser<'a> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value> {
        let r = match self.kind() {
            Kind::Null => visitor.visit_unit(),
            Kind::Str(s) => visitor.visit_borrowed_str(s),
            Kind::Bool(b) => visitor.visit_bool(b),
            Kind::Int(i) => match i64::try_from(i) {
                Ok(i) => visitor.visit_i64(i),
                Err(_) => visitor.visit_u64(i as u64),
            },
            Kind::Float(f) => visitor.visit_f64(f),
            Kind::Seq(items) => visitor.visit_seq(SeqAcc::new(items, &self.path, self.ctx)),
            Kind::Map(entries) => return self.visit_mapping(entries, visitor),
        };
        r.map_err(|e| self.locate(e))
    }

    fn deserialize_bool<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value> {
        let b = match self.kind() {
            Kind::Bool(b) => b,
            Kind::Null => false,
            _ => return Err(self.mismatch("a boolean")),
        };
        visitor.visit_bool(b).map_err(|e| self.locate(e))
    }

    integers!(deserialize_i8 visit_i8 i8, deserialize_i16 visit_i16 i16, deserialize_i32 visit_i32 i32,
        deserialize_i64 visit_i64 i64, deserialize_u8 visit_u8 u8, deserialize_u16 visit_u16 u16,
        deserialize_u32 visit_u32 u32, deserialize_u64 visit_u64 u64);

    fn deserialize_f32<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value> {
        let f = match self.kind() {
            Kind::Int(i) => i as f64,
            Kind::Float(f) => f,
            Kind::Null => 0.0,
            _ => return Err(self.mismatch("a number")),
        };
        visitor.visit_f64(f).map_err(|e| self.locate(e))
    }

    fn deserialize_char<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value> {
        match self.kind() {
            Kind::Str(s) if s.chars().count() == 1 => visitor.visit_borrowed_str(s).map_err(|e| self.locate(e)),
            _ => Err(self.mismatch("a character")),
        }
    }

    fn deserialize_str<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value> {
        let s = match self.kind() {
            Kind::Str(s) => s,
            // Kubernetes decodes JSON null into a string field as "".
            Kind::Null => "",
            _ => return Err(self.mismatch("a string")),
        };
        visitor.visit_borrowed_str(s).map_err(|e| self.locate(e))
    }

    fn deserialize_string<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value> {
        match self.kind() {
            Kind::Null => visitor.visit_none().map_err(|e| self.locate(e)),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value> {
        match self.kind() {
            Kind::Null => visitor.visit_unit().map_err(|e| self.locate(e)),
            _ => Err(self.mismatch("null")),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'a>>(self, _name: &'static str, visitor: V) -> Result<V::Value> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'a>>(self, name: &'static str, visitor: V) -> Result<V::Value> {
        let r = match (name, &self.node.value, self.kind()) {
            (RAW_SCALAR, NodeValue::Scalar { text, .. }, _) => visitor.visit_borrowed_str(text),
            (RAW_SCALAR, ..) => return Err(self.mismatch("a scalar")),
            (INT_OR_STRING, _, Kind::Int(i)) => match i64::try_from(i) {
                Ok(i) => visitor.visit_i64(i),
                Err(_) => return Err(self.error(format!("integer {i} is out of range for i64"))),
            },
            (INT_OR_STRING, _, Kind::Str(s)) => visitor.visit_borrowed_str(s),
            // Kubernetes' IntOrString.UnmarshalJSON decodes null as the integer 0.
            (INT_OR_STRING, _, Kind::Null) => visitor.visit_i64(0),
            (INT_OR_STRING, ..) => return Err(self.mismatch("an integer or a string")),
            _ => return visitor.visit_newtype_struct(self),
        };
        r.map_err(|e| self.locate(e))
    }

    fn deserialize_seq<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value> {
        let items: &[Node] = match self.kind() {
            Kind::Seq(items) => items,
            Kind::Null => &[],
            _ => return Err(self.mismatch("a sequence")),
        };
        visitor
            .visit_seq(SeqAcc::new(items, &self.path, self.ctx))
            .map_err(|e| self.locate(e))
    }

    fn deserialize_tuple<V: Visitor<'a>>(self, _len: usize, visitor: V) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'a>>(self, _: &'static str, _: usize, visitor: V) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value> {
        match self.kind() {
            Kind::Map(entries) => self.visit_mapping(entries, visitor),
            Kind::Null => self.visit_mapping(&[], visitor),
            _ => Err(self.mismatch("a mapping")),
        }
    }

    fn deserialize_struct<V: Visitor<'a>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'a>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        let r = match self.kind() {
            Kind::Str(s) => visitor.visit_enum(BorrowedStrDeserializer::new(s)),
            Kind::Map([(key, value)]) => visitor.visit_enum(MapEnum {
                key,
                value,
                path: &self.path,
                ctx: self.ctx,
            }),
            _ => return Err(self.mismatch("a string")),
        };
        r.map_err(|e| self.locate(e))
    }

    fn deserialize_identifier<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value> {
        KeyDeser {
            node: self.node,
            path: self.path.clone(),
        }
        .deserialize_identifier(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value> {
        // Derived structs ask for an ignored value for every key they do not know: that is
        // where unknown fields are found, all of them, without stopping.
        if let Some(mark) = self.key_mark {
            let issue = FieldIssue {
                path: self.path.clone(),
                mark,
                message: "unknown field".to_string(),
            };
            self.ctx.issues.borrow_mut().push(issue);
        }
        visitor.visit_unit()
    }
}
