//! Reading a policy's fields as the API server (or the CRD) validates
//! them: what is absent, what a list, a label selector, a port, a CIDR is.

use super::rules::Problem;
use crate::model::selector::Selector;
use crate::yaml::Node;

/// A field that is present and not null (`podSelector:` with no value is
/// absent for the API server).
pub(super) fn field<'n>(node: &'n Node, key: &str) -> Option<&'n Node> {
    node.get(key).filter(|n| !n.is_null())
}

/// A list field: `None` when absent or null; a problem when it is not a list.
pub(super) fn list<'n>(node: &'n Node, key: &str, problems: &mut Vec<Problem>) -> Option<&'n [Node]> {
    let value = field(node, key)?;
    if !value.is_seq() {
        problems.push(Problem {
            line: value.line,
            message: format!("`{key}` is not a list"),
        });
        return None;
    }
    Some(value.as_seq())
}

/// The strings of a list field (`except`, `nets`); absent: none.
pub(super) fn strings(node: &Node, key: &str) -> Vec<String> {
    node.get(key)
        .map(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e.scalar_text().map(str::to_string))
        .collect()
}

/// A non-empty list field; absent, null and `[]` all give `None`.
pub(super) fn non_empty_list<'n>(node: &'n Node, key: &str, problems: &mut Vec<Problem>) -> Option<&'n [Node]> {
    list(node, key, problems).filter(|s| !s.is_empty())
}

/// A `metav1.LabelSelector`, with what the API server would reject.
pub(super) fn label_selector(node: &Node, what: &str, problems: &mut Vec<Problem>) -> Selector {
    match Selector::parse_label_selector(node) {
        Ok(selector) => selector,
        Err(message) => {
            problems.push(Problem {
                line: node.line,
                message: format!("{what}: {message}"),
            });
            Selector::default()
        }
    }
}

/// A port number or name as Kubernetes validates it.
pub(super) fn port_value(node: &Node) -> Result<PortValue, String> {
    if let Some(n) = node.as_i64() {
        return match u16::try_from(n) {
            Ok(n) if n > 0 => Ok(PortValue::Number(n)),
            _ => Err(format!("port {n} is not in 1-65535")),
        };
    }
    let text = node.scalar_text().unwrap_or("").trim();
    if let Ok(n) = text.parse::<i64>() {
        return match u16::try_from(n) {
            Ok(n) if n > 0 => Ok(PortValue::Number(n)),
            _ => Err(format!("port {n} is not in 1-65535")),
        };
    }
    if is_port_name(text) {
        Ok(PortValue::Name(text.to_string()))
    } else {
        Err(format!("port `{text}` is neither a number nor a port name"))
    }
}

pub(super) enum PortValue {
    Number(u16),
    Name(String),
}

/// An IANA service name, as container port names are: at most 15
/// lowercase letters, digits and single hyphens, with at least one letter.
pub(super) fn is_port_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 15
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && text.chars().any(|c| c.is_ascii_lowercase())
        && !text.starts_with('-')
        && !text.ends_with('-')
        && !text.contains("--")
}

/// `10.0.0.0/8`, `fd00::/8`: an address and a prefix length that fits it.
pub(super) fn valid_cidr(text: &str) -> bool {
    let Some((address, length)) = text.split_once('/') else {
        return false;
    };
    let Ok(length) = length.parse::<u8>() else {
        return false;
    };
    match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => length <= 32,
        Ok(std::net::IpAddr::V6(_)) => length <= 128,
        Err(_) => false,
    }
}

/// A scalar written in quotes that reads as a number (`"8080"`): a string
/// for the API server.
pub(super) fn is_quoted_number(node: &Node) -> bool {
    matches!(&node.value, crate::yaml::Value::Scalar { text, plain: false } if text.trim().parse::<i64>().is_ok())
}

/// Is `inner` a strict subset of `outer` (both valid CIDRs), as the API
/// server requires of an ipBlock's `except`: the same family, a longer
/// prefix, and its network address inside `outer`?
pub(super) fn strictly_within(inner: &str, outer: &str) -> bool {
    let parse = |cidr: &str| -> Option<(u128, u8, bool)> {
        let (address, length) = cidr.split_once('/')?;
        let length: u8 = length.parse().ok()?;
        match address.parse::<std::net::IpAddr>().ok()? {
            std::net::IpAddr::V4(v4) => Some((u128::from(u32::from(v4)) << 96, length, true)),
            std::net::IpAddr::V6(v6) => Some((u128::from(v6), length, false)),
        }
    };
    let (Some((inner_bits, inner_length, inner_v4)), Some((outer_bits, outer_length, outer_v4))) =
        (parse(inner), parse(outer))
    else {
        return false;
    };
    // IPv4 addresses sit in the top 32 bits: a prefix is the top bits either way.
    let mask = |length: u8| {
        if length == 0 {
            0
        } else {
            u128::MAX << (128 - u32::from(length))
        }
    };
    inner_v4 == outer_v4
        && inner_length > outer_length
        && (inner_bits & mask(inner_length)) & mask(outer_length) == outer_bits & mask(outer_length)
}

/// `0.0.0.0/0` or `::/0`.
pub(super) fn is_everywhere(cidr: &str) -> bool {
    cidr.split_once('/').is_some_and(|(_, length)| length == "0")
}
