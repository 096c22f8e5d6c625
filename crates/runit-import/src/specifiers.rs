//! `%` specifiers of unit files (`%i`, `%n`, `%h`, ...), resolved for the
//! system service manager at conversion time, as systemd resolves them
//! when it loads the unit.

/// The names a unit's specifiers are made of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitName {
    /// The full name, `getty@tty1.service`.
    pub full: String,
    /// Before the `@` or the suffix: `getty`.
    pub prefix: String,
    /// After the `@`, escaped as in the name: `tty1`; None for a plain unit.
    pub instance: Option<String>,
    /// `service`, `socket`, ...
    pub suffix: String,
}

impl UnitName {
    /// Splits `NAME[@INSTANCE].TYPE`; None when there is no `.TYPE`.
    pub fn parse(full: &str) -> Option<UnitName> {
        let (stem, suffix) = full.rsplit_once('.')?;
        if stem.is_empty() || suffix.is_empty() || full.contains('/') {
            return None;
        }
        let (prefix, instance) = match stem.split_once('@') {
            Some((p, i)) => (p.to_string(), Some(i.to_string())),
            None => (stem.to_string(), None),
        };
        if prefix.is_empty() {
            return None;
        }
        Some(UnitName { full: full.to_string(), prefix, instance, suffix: suffix.to_string() })
    }

    /// The name without its type suffix: `getty@tty1`.
    pub fn stem(&self) -> String {
        self.full[..self.full.len() - self.suffix.len() - 1].to_string()
    }

    /// The template a unit with an instance is made from: `getty@.service`.
    pub fn template(&self) -> Option<String> {
        self.instance.as_ref().map(|_| format!("{}@.{}", self.prefix, self.suffix))
    }

    /// Whether this is a template without an instance (`getty@.service`).
    pub fn is_bare_template(&self) -> bool {
        self.instance.as_deref() == Some("")
    }
}

/// systemd's unit-name unescaping: `-` stands for `/`, `\xNN` for a byte.
pub fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'-' {
            out.push(b'/');
            i += 1;
        } else if b[i] == b'\\' && i + 4 <= b.len() && b[i + 1] == b'x' {
            match std::str::from_utf8(&b[i + 2..i + 4]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(v) => {
                    out.push(v);
                    i += 4;
                }
                None => {
                    out.push(b'\\');
                    i += 1;
                }
            }
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `%f`: the unescaped instance (or prefix) as an absolute path.
fn path_of(s: &str) -> String {
    let u = unescape(s);
    if u.starts_with('/') {
        u
    } else {
        format!("/{u}")
    }
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path).map(|s| s.trim().to_string()).unwrap_or_default()
}

/// Replaces the specifiers in `s`; Err names the first unknown one.
pub fn expand(s: &str, unit: &UnitName) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(spec) = chars.next() else {
            return Err("a lone '%' at the end (write %% for a percent sign)".into());
        };
        let instance = unit.instance.clone().unwrap_or_default();
        let value = match spec {
            '%' => "%".to_string(),
            'n' => unit.full.clone(),
            'N' => unit.stem(),
            'p' => unit.prefix.clone(),
            'P' => unescape(&unit.prefix),
            'i' => instance,
            'I' => unescape(&instance),
            'j' => unit.prefix.rsplit('-').next().unwrap_or_default().to_string(),
            'J' => unescape(unit.prefix.rsplit('-').next().unwrap_or_default()),
            'f' => path_of(if unit.instance.is_some() { &instance } else { &unit.prefix }),
            // The system manager runs as root.
            'h' => "/root".into(),
            'u' => "root".into(),
            'U' | 'G' => "0".into(),
            'g' => "root".into(),
            's' => "/bin/sh".into(),
            't' => "/run".into(),
            'S' => "/var/lib".into(),
            'C' => "/var/cache".into(),
            'L' => "/var/log".into(),
            'E' => "/etc".into(),
            'T' => "/tmp".into(),
            'V' => "/var/tmp".into(),
            'H' => read_trimmed("/proc/sys/kernel/hostname"),
            'l' => read_trimmed("/proc/sys/kernel/hostname").split('.').next().unwrap_or_default().to_string(),
            'm' => read_trimmed("/etc/machine-id"),
            'b' => read_trimmed("/proc/sys/kernel/random/boot_id").replace('-', ""),
            'v' => read_trimmed("/proc/sys/kernel/osrelease"),
            other => return Err(format!("unknown specifier %{other}")),
        };
        out.push_str(&value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn getty() -> UnitName {
        UnitName::parse("getty@tty1.service").unwrap()
    }

    #[test]
    fn names_split_into_prefix_instance_and_suffix() {
        let u = getty();
        assert_eq!((u.prefix.as_str(), u.instance.as_deref(), u.suffix.as_str()), ("getty", Some("tty1"), "service"));
        assert_eq!(u.stem(), "getty@tty1");
        assert_eq!(u.template().as_deref(), Some("getty@.service"));
        assert!(UnitName::parse("getty@.service").unwrap().is_bare_template());
        assert_eq!(UnitName::parse("ssh.service").unwrap().instance, None);
        assert_eq!(UnitName::parse("ssh"), None);
        assert_eq!(UnitName::parse("a/b.service"), None);
    }

    #[test]
    fn the_usual_specifiers_expand() {
        let u = getty();
        assert_eq!(expand("%n %N %p %i %I %%i", &u).unwrap(), "getty@tty1.service getty@tty1 getty tty1 tty1 %i");
        assert_eq!(expand("%h %t %u %S/%p", &u).unwrap(), "/root /run root /var/lib/getty");
        let d = UnitName::parse("mount@dev-disk\\x2dby\\x2dlabel-x.service").unwrap();
        assert_eq!(expand("%I", &d).unwrap(), "dev/disk-by-label/x");
        assert_eq!(expand("%f", &d).unwrap(), "/dev/disk-by-label/x");
        let p = UnitName::parse("foo-bar.service").unwrap();
        assert_eq!(expand("%P %j", &p).unwrap(), "foo/bar bar");
    }

    #[test]
    fn unknown_or_dangling_specifiers_are_errors() {
        assert_eq!(expand("%q", &getty()).unwrap_err(), "unknown specifier %q");
        assert!(expand("50%", &getty()).is_err());
    }
}
