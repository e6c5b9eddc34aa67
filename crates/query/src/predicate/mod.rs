//! Compiled predicates, one module per kind. A predicate is compiled once, at parse time
//! (lowercased needles, regexes, numbers, instants), and tested against one document value.

mod boolean;
mod cmp;
pub(crate) mod date;
mod enums;
mod map;
mod numeric;
mod string;
mod time;
mod uuid;

use crate::lexer::modifiers;
use crate::schema::Kind;
use crate::value::Value;

pub(crate) use numeric::{MAX_ABS_NUMBER, MAX_NUMBER_LEN};
pub(crate) use string::REGEX_SIZE_LIMIT;

#[derive(Debug, Clone)]
pub(crate) enum Pred {
    /// `*`: some non-null value.
    Exists,
    /// `-`: a null value, or no value at all.
    Null,
    Str(string::StrPred),
    Num(numeric::NumPred),
    Time(time::TimePred),
    Enum(enums::EnumPred),
    Bool(bool),
    Map(map::MapPred),
    Uuid(uuid::UuidPred),
}

impl Pred {
    /// Compiles one value of a pair for a field of `kind`; the error is the reason.
    pub fn compile(kind: Kind, raw: &str) -> Result<Pred, String> {
        if kind == Kind::Map {
            return map::MapPred::compile(raw).map(Pred::Map);
        }
        // StackRox compares the raw value, before modifiers: `!*` is the text `*`, negated.
        match raw {
            "*" => return Ok(Pred::Exists),
            "-" => return Ok(Pred::Null),
            _ => {}
        }
        let m = modifiers(raw);
        Ok(match kind {
            Kind::String => Pred::Str(string::StrPred::compile(&m)?),
            Kind::Number => Pred::Num(numeric::NumPred::compile(&m)?),
            Kind::Time => Pred::Time(time::TimePred::compile(&m)?),
            Kind::Enum(variants) => Pred::Enum(enums::EnumPred::compile(variants, &m)?),
            Kind::Bool => Pred::Bool(boolean::compile(&m)?),
            Kind::Uuid => Pred::Uuid(uuid::UuidPred::compile(&m)?),
            Kind::Map => Pred::Map(map::MapPred::compile(raw)?),
        })
    }

    /// Whether one document value satisfies this predicate. A value of the wrong type for the
    /// predicate never does (but is still "some value" for `*`).
    pub fn matches(&self, v: &Value<'_>, now: i64) -> bool {
        match (self, v) {
            (Pred::Exists, v) => !matches!(v, Value::Null),
            (Pred::Null, v) => matches!(v, Value::Null),
            (Pred::Str(p), Value::Str(s)) => p.matches(s),
            (Pred::Num(p), Value::Num(n)) => p.matches(*n),
            (Pred::Time(p), Value::Time(t)) => p.matches(*t, now),
            (Pred::Enum(p), Value::Enum(o)) => p.matches(*o),
            (Pred::Bool(b), Value::Bool(x)) => b == x,
            (Pred::Map(p), Value::Map(m)) => p.matches(*m),
            (Pred::Uuid(p), Value::Str(s)) => p.matches(s),
            _ => false,
        }
    }
}
