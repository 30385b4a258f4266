//! Form fields as the pages draw them: a label (marked 必須 when the field is required), the
//! control, and under it the field's own error, tied to the control by `aria-describedby` and
//! `aria-invalid` so a screen reader reads the error with the field. A refused form is drawn again
//! with what was typed, and the error beside the field it is about.

use maud::{html, Markup};

/// Why a form was refused: the field it is about (its `name`), when there is one, and the message
/// in the viewer's language. The page shows the message at its top as well, for the summary.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub field: Option<&'static str>,
    pub message: String,
}

impl Refusal {
    /// A refusal about the form as a whole.
    pub fn form(message: impl Into<String>) -> Self {
        Refusal {
            field: None,
            message: message.into(),
        }
    }

    /// A refusal about the field called `field`.
    pub fn field(field: &'static str, message: impl Into<String>) -> Self {
        Refusal {
            field: Some(field),
            message: message.into(),
        }
    }

    /// The message, if the refusal is about `name`.
    fn about(&self, name: &str) -> Option<&str> {
        (self.field == Some(name)).then_some(self.message.as_str())
    }
}

/// One text field. `prefix` keeps ids unique where a page has several forms with the same fields.
pub struct Input<'a> {
    prefix: &'a str,
    name: &'static str,
    label: &'a str,
    value: &'a str,
    kind: &'static str,
    required: bool,
    numeric: bool,
    placeholder: Option<&'a str>,
    maxlength: Option<u32>,
    autocomplete: Option<&'static str>,
    list: Option<&'static str>,
}

impl<'a> Input<'a> {
    pub fn new(prefix: &'a str, name: &'static str, label: &'a str) -> Self {
        Input {
            prefix,
            name,
            label,
            value: "",
            kind: "text",
            required: false,
            numeric: false,
            placeholder: None,
            maxlength: None,
            autocomplete: None,
            list: None,
        }
    }

    /// Offers the choices of the `<datalist>` with this id as the field is typed.
    pub fn list(mut self, datalist: &'static str) -> Self {
        self.list = Some(datalist);
        self
    }

    pub fn value(mut self, value: &'a str) -> Self {
        self.value = value;
        self
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Digits: a number pad on a tablet or phone.
    pub fn numeric(mut self) -> Self {
        self.numeric = true;
        self
    }

    pub fn password(mut self, autocomplete: &'static str) -> Self {
        self.kind = "password";
        self.autocomplete = Some(autocomplete);
        self
    }

    pub fn placeholder(mut self, example: &'a str) -> Self {
        self.placeholder = Some(example);
        self
    }

    pub fn maxlength(mut self, chars: u32) -> Self {
        self.maxlength = Some(chars);
        self
    }

    pub fn autocomplete(mut self, token: &'static str) -> Self {
        self.autocomplete = Some(token);
        self
    }

    /// The label, the input and, when `refused` is about this field, its error under it.
    pub fn render(&self, refused: Option<&Refusal>) -> Markup {
        let id = field_id(self.prefix, self.name);
        let error = refused.and_then(|r| r.about(self.name));
        let error_id = format!("{id}-error");
        html! {
            div.field {
                (label(&id, self.label, self.required))
                input id=(id) name=(self.name) type=(self.kind) value=(self.value)
                    required[self.required]
                    inputmode=[self.numeric.then_some("numeric")]
                    placeholder=[self.placeholder]
                    maxlength=[self.maxlength]
                    autocomplete=[self.autocomplete]
                    list=[self.list]
                    aria-invalid=[error.map(|_| "true")]
                    aria-describedby=[error.map(|_| error_id.as_str())];
                @if let Some(message) = error {
                    p.field-error id=(error_id) { (message) }
                }
            }
        }
    }
}

/// A choice from a list, drawn like [`Input`]; `options` are the `<option>` elements.
pub fn select(
    prefix: &str,
    name: &'static str,
    label_text: &str,
    options: Markup,
    refused: Option<&Refusal>,
) -> Markup {
    let id = field_id(prefix, name);
    let error = refused.and_then(|r| r.about(name));
    let error_id = format!("{id}-error");
    html! {
        div.field {
            (label(&id, label_text, false))
            select id=(id) name=(name)
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=[error.map(|_| error_id.as_str())] { (options) }
            @if let Some(message) = error {
                p.field-error id=(error_id) { (message) }
            }
        }
    }
}

/// The summary of a refusal at the top of a form, read out at once; it links to the field.
pub fn summary(prefix: &str, refused: Option<&Refusal>) -> Markup {
    html! {
        @if let Some(r) = refused {
            p.error role="alert" {
                @match r.field {
                    Some(name) => a href={ "#" (field_id(prefix, name)) } { (r.message) },
                    None => (r.message),
                }
            }
        }
    }
}

fn field_id(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}-{name}")
    }
}

fn label(id: &str, text: &str, required: bool) -> Markup {
    html! {
        label for=(id) {
            (text)
            @if required { span.required aria-hidden="true" {} }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_field_carries_its_error_under_it_and_is_described_by_it() {
        let refused = Refusal::field("kana", "氏名（カナ）: カタカナで入力してください。");
        let html = Input::new("", "kana", "氏名（カナ）")
            .value("yamada")
            .required()
            .render(Some(&refused))
            .into_string();
        assert!(html.contains(r#"value="yamada""#), "{html}");
        assert!(html.contains(r#"aria-invalid="true""#), "{html}");
        assert!(html.contains(r#"aria-describedby="kana-error""#), "{html}");
        assert!(
            html.contains(r#"<p class="field-error" id="kana-error">"#),
            "{html}"
        );
        assert!(html.contains(r#"<span class="required" aria-hidden="true">"#));
        assert!(html.contains("required"), "{html}");
    }

    #[test]
    fn another_fields_refusal_leaves_this_field_plain() {
        let refused = Refusal::field("birth", "生年月日: 日付ではありません。");
        let html = Input::new("add", "kana", "氏名（カナ）")
            .render(Some(&refused))
            .into_string();
        assert!(html.contains(r#"id="add-kana""#), "{html}");
        assert!(!html.contains("aria-invalid"), "{html}");
        assert!(!html.contains("field-error"), "{html}");
        let summary = summary("add", Some(&refused)).into_string();
        assert!(summary.contains("href=\"#add-birth\""), "{summary}");
    }
}
