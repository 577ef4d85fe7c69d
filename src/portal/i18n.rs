//! The portal's languages (English, German, Spanish): every string a page or an email shows
//! comes from the Fluent files under `locales/`, compiled into the binary. A request's
//! language is the one it chose (the `sb_lang` cookie), else the best match of its
//! `Accept-Language`, else English.

use std::borrow::Cow;
use std::collections::HashMap;

use actix_web::HttpRequest;
use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{static_loader, LanguageIdentifier, Loader};

static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        // Bidi isolation marks around arguments would end up inside emails and input values.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// The cookie remembering a chosen language.
pub const LANG_COOKIE: &str = "sb_lang";

/// A language the portal speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// German.
    De,
    /// Spanish.
    Es,
}

impl Lang {
    /// Every language, in the order the switch shows them.
    pub const ALL: [Lang; 3] = [Lang::En, Lang::De, Lang::Es];

    /// The language's tag (`en`, `de`, `es`).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
            Lang::Es => "es",
        }
    }

    /// The language's name in itself, for the switch.
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::De => "Deutsch",
            Lang::Es => "Español",
        }
    }

    /// Reads a tag such as `de`, `de-AT` or `ES`.
    pub fn parse(raw: &str) -> Option<Lang> {
        let primary = raw.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        Lang::ALL.into_iter().find(|l| l.tag() == primary)
    }

    /// The best of the portal's languages for an `Accept-Language` header.
    pub fn negotiate(accept: &str) -> Option<Lang> {
        let mut ranked: Vec<(f32, Lang)> = accept
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.split(';');
                let lang = Lang::parse(pieces.next()?)?;
                let q = pieces
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
                (q > 0.0).then_some((q, lang))
            })
            .collect();
        // Stable: of equal weights the first named wins.
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        ranked.first().map(|(_, l)| *l)
    }

    /// The language of a request: its cookie, else its `Accept-Language`, else English.
    pub fn of_request(req: &HttpRequest) -> Lang {
        req.cookie(LANG_COOKIE)
            .and_then(|c| Lang::parse(c.value()))
            .or_else(|| {
                req.headers()
                    .get(actix_web::http::header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(Lang::negotiate)
            })
            .unwrap_or(Lang::En)
    }

    fn id(self) -> LanguageIdentifier {
        // The tags above are valid language identifiers.
        self.tag().parse().unwrap_or_default()
    }
}

/// The translations of one language, as templates use them.
#[derive(Debug, Clone)]
pub struct Tr {
    lang: Lang,
    id: LanguageIdentifier,
}

impl Tr {
    /// The translations of `lang`.
    pub fn new(lang: Lang) -> Tr {
        Tr {
            lang,
            id: lang.id(),
        }
    }

    /// The language.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// The message `key`.
    pub fn get(&self, key: &str) -> String {
        LOCALES.lookup(&self.id, key)
    }

    /// The message `key` with arguments.
    pub fn with(&self, key: &str, args: &[(&'static str, String)]) -> String {
        let args: HashMap<Cow<'static, str>, FluentValue> = args
            .iter()
            .map(|(k, v)| {
                // Whole numbers go in as numbers, so plural forms choose by them.
                let value = match v.parse::<u64>() {
                    Ok(n) => FluentValue::from(n),
                    Err(_) => FluentValue::from(v.clone()),
                };
                (Cow::Borrowed(*k), value)
            })
            .collect();
        LOCALES.lookup_with_args(&self.id, key, &args)
    }

    /// The message `key` with one argument.
    pub fn with1(&self, key: &str, name: &'static str, value: impl ToString) -> String {
        self.with(key, &[(name, value.to_string())])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_accepted_language_wins_and_unknown_ones_are_skipped() {
        assert_eq!(Lang::negotiate("de-AT,de;q=0.9,en;q=0.8"), Some(Lang::De));
        assert_eq!(Lang::negotiate("fr, es;q=0.5, en;q=0.4"), Some(Lang::Es));
        assert_eq!(Lang::negotiate("en;q=0.2, de;q=0.7"), Some(Lang::De));
        assert_eq!(Lang::negotiate("fr, it"), None);
        assert_eq!(Lang::negotiate("de;q=0"), None);
        assert_eq!(Lang::negotiate(""), None);
    }

    /// The message ids of every `.ftl` file of one language, sorted.
    fn ids(lang: &str) -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("locales")
            .join(lang);
        let mut ids = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("the language's directory") {
            let path = entry.expect("an entry").path();
            if path.extension().is_some_and(|e| e == "ftl") {
                let text = std::fs::read_to_string(&path).expect("a readable file");
                ids.extend(
                    text.lines()
                        .filter(|l| l.starts_with(|c: char| c.is_ascii_lowercase()))
                        .filter_map(|l| l.split_once(" =").map(|(id, _)| id.trim().to_owned())),
                );
            }
        }
        ids.sort_unstable();
        ids
    }

    #[test]
    fn every_language_has_every_message_once() {
        let en = ids("en");
        assert!(en.len() > 20, "the English files are read");
        let mut unique = en.clone();
        unique.dedup();
        assert_eq!(unique, en, "no message is defined twice");
        for lang in ["de", "es"] {
            assert_eq!(ids(lang), en, "{lang} has the same messages as en");
        }
    }

    #[test]
    fn messages_are_found_in_each_language_and_take_arguments() {
        assert_eq!(Tr::new(Lang::En).get("nav-login"), "Log in");
        assert_eq!(Tr::new(Lang::De).get("nav-login"), "Anmelden");
        assert_eq!(Tr::new(Lang::Es).get("nav-login"), "Iniciar sesión");
        let wait = Tr::new(Lang::En).with1("login-locked", "minutes", 15);
        assert!(wait.contains("wait 15 minutes"), "{wait}");
        let one = Tr::new(Lang::En).with1("login-locked", "minutes", 1);
        assert!(
            one.contains("wait a minute"),
            "plural forms choose by number: {one}"
        );
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::mutations::{any_text, near_text};
    use proptest::prelude::*;

    /// An Accept-Language header as browsers send them.
    fn accept_language() -> impl Strategy<Value = String> {
        "([a-zA-Z]{2}(-[A-Z]{2})?(;q=[01](\\.[0-9]{1,3})?)?, ?){1,4}\\*?"
    }

    proptest! {
        #[test]
        fn language_tags_and_accept_language_never_panic(
            raw in prop_oneof![any_text(), accept_language(), near_text(accept_language())],
        ) {
            if let Some(lang) = Lang::parse(&raw) {
                prop_assert_eq!(Lang::parse(lang.tag()), Some(lang));
            }
            if let Some(lang) = Lang::negotiate(&raw) {
                prop_assert_eq!(Lang::negotiate(lang.tag()), Some(lang));
            }
        }
    }
}
