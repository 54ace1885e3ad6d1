//! Numbers as a report says them.

/// `4,112 workloads`, `1 workload`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// `4112` as `4,112`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_read_as_words() {
        assert_eq!(super::count(1, "pod", "pods"), "1 pod");
        assert_eq!(super::count(2, "volume", "volumes"), "2 volumes");
        assert_eq!(super::count(4112, "workload", "workloads"), "4,112 workloads");
        assert_eq!(super::thousands(1_000_000), "1,000,000");
    }
}
