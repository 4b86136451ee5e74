//! Kubernetes name syntax. Names from the input reach object names and label values of the
//! clusters tierplan plans for, so they are checked against the API server's own rules and
//! refused with the reason, never rewritten (a rewrite could make two names collide).

/// Why `s` is not a DNS-1123 label (`[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters):
/// the rule for namespaces.
pub fn dns_label_problem(s: &str) -> Option<String> {
    segment_problem(s, 63, dns_char)
}

fn dns_char(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'
}

/// Why `s` is not a DNS-1123 subdomain (dot-separated DNS-1123 labels, at most 253
/// characters in all; Kubernetes does not limit each part to 63): the rule for object names
/// such as workloads and nodes.
pub fn dns_subdomain_problem(s: &str) -> Option<String> {
    if let Some(p) = length_problem(s, 253) {
        return Some(p);
    }
    s.split('.').find_map(|part| {
        segment_problem(part, 253, dns_char).map(|p| {
            if part.is_empty() {
                "it has an empty part between dots".to_string()
            } else {
                p
            }
        })
    })
}

/// Why `s` is not a qualified name (`[prefix/]name`: a DNS-1123 subdomain prefix and a name
/// of at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or
/// digit): the rule for label keys and resource names.
pub fn qualified_name_problem(s: &str) -> Option<String> {
    match s.split_once('/') {
        Some((prefix, name)) => dns_subdomain_problem(prefix)
            .map(|p| format!("its prefix `{prefix}` is not a DNS-1123 subdomain: {p}"))
            .or_else(|| name_problem(name)),
        None => name_problem(s),
    }
}

/// Why `s` is not a label value (empty, or a name as in [`qualified_name_problem`]).
pub fn label_value_problem(s: &str) -> Option<String> {
    if s.is_empty() {
        None
    } else {
        name_problem(s)
    }
}

/// A name that follows the DNS-1123 rules, offered as a suggestion only.
pub fn suggest_dns(s: &str, max: usize) -> String {
    let lowered: String = s
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '-' | '.') => c,
            _ => '-',
        })
        .collect();
    let cut: String = lowered.chars().take(max).collect();
    cut.trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string()
}

fn name_problem(s: &str) -> Option<String> {
    segment_problem(s, 63, |b| {
        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')
    })
}

fn length_problem(s: &str, max: usize) -> Option<String> {
    if s.is_empty() {
        Some("it is empty".to_string())
    } else if s.len() > max {
        Some(format!("it is {} characters long (at most {max})", s.len()))
    } else {
        None
    }
}

fn segment_problem(s: &str, max: usize, allowed: impl Fn(u8) -> bool) -> Option<String> {
    if let Some(p) = length_problem(s, max) {
        return Some(p);
    }
    if let Some(c) = s.chars().find(|&c| !c.is_ascii() || !allowed(c as u8)) {
        return Some(format!("it contains {c:?}"));
    }
    let bytes = s.as_bytes();
    if !bytes[0].is_ascii_alphanumeric() || !bytes[bytes.len() - 1].is_ascii_alphanumeric() {
        return Some("it must start and end with a letter or digit".to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        for ok in ["a", "payroll", "team-1", "0abc", &"a".repeat(63)] {
            assert_eq!(dns_label_problem(ok), None, "{ok}");
        }
        for bad in [
            "",
            "Payroll",
            "a.b",
            "-a",
            "a-",
            "a_b",
            "é",
            &"a".repeat(64),
        ] {
            assert!(dns_label_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn dns_subdomains() {
        for ok in [
            "a",
            "ip-10-0-1-233.eu-west-1.compute.internal",
            &"a".repeat(253),
        ] {
            assert_eq!(dns_subdomain_problem(ok), None, "{ok}");
        }
        for bad in [
            "",
            "a..b",
            "a.-b",
            ".a",
            "a.",
            "A.b",
            "a_b",
            &"a".repeat(254),
        ] {
            assert!(dns_subdomain_problem(bad).is_some(), "{bad}");
        }
        assert_eq!(
            dns_subdomain_problem("a..b").as_deref(),
            Some("it has an empty part between dots")
        );
    }

    #[test]
    fn qualified_names_and_label_values() {
        for ok in [
            "cpu",
            "nvidia.com/gpu",
            "topology.kubernetes.io/zone",
            "hugepages-2Mi",
            "Disk_Type.v2",
        ] {
            assert_eq!(qualified_name_problem(ok), None, "{ok}");
        }
        for bad in [
            "",
            "/gpu",
            "nvidia.com/",
            "Nvidia.com/gpu",
            "a/b/c",
            "-x",
            "x y",
            "$(rm -rf /)",
            &"a".repeat(64),
        ] {
            assert!(qualified_name_problem(bad).is_some(), "{bad}");
        }
        assert_eq!(label_value_problem(""), None);
        assert_eq!(label_value_problem("eu-west-1a"), None);
        assert!(label_value_problem("a b").is_some());
        assert!(label_value_problem("`whoami`").is_some());
        assert!(label_value_problem(&"v".repeat(64)).is_some());
    }

    #[test]
    fn suggestions_are_valid() {
        assert_eq!(suggest_dns("Payroll_API", 63), "payroll-api");
        assert_eq!(suggest_dns("--x--", 63), "x");
        let long = suggest_dns(&"a".repeat(100), 63);
        assert_eq!(dns_label_problem(&long), None);
    }
}
