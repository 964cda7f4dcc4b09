//! The providers through their real clients (aws-sdk-bedrockruntime, reqwest)
//! against the fake model server, and `analyse` end to end on a synthetic filing.
//! Assertions are on outcomes (calls the fake saw, parsed bodies, errors), never on
//! wall-clock durations.

use aws_sdk_bedrockruntime::config::{Credentials, SharedCredentialsProvider};
use llm_analyzer::analysis::{analyse, prompt, AnalysisBody, AnalysisError, SectionInput, EXTRACTIVE_NOTE, MODEL_NOTE};
use llm_analyzer::provider::{
    build_model, complete_with_retry, CompletionRequest, LanguageModel, Pricing, ProviderConfig, ProviderError,
};
use sluice_core::ConfigSource;
use sluice_fakes::llm::{start, AuthSeen, FakeLlm, FakeLlmConfig, LlmRoute, Scripted};
use sluice_messages::{AnalysisKind, FilingType, Money};
use std::sync::Arc;
use std::time::Duration;

async fn sdk() -> aws_config::SdkConfig {
    sluice_core::aws::loader()
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "test", "test", None, None, "static",
        )))
        .load()
        .await
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Which {
    Bedrock,
    OpenAi,
}

const API_KEY: &str = "sk-test-not-a-real-key-7f3a";

fn config(which: Which, fake: &FakeLlm, extra: &[(&str, &str)]) -> ProviderConfig {
    let mut cfg = ConfigSource::from_pairs([
        ("LLM_BACKOFF_MS", "1"),
        ("LLM_BACKOFF_MAX_MS", "5"),
        ("LLM_TIMEOUT_SECS", "10"),
    ]);
    cfg = match which {
        Which::Bedrock => cfg
            .with("LLM_PROVIDER", "bedrock")
            .with("BEDROCK_ENDPOINT_URL", fake.base_url.clone()),
        Which::OpenAi => cfg
            .with("LLM_PROVIDER", "openai")
            .with("LLM_MODEL", "llama3.1:8b")
            .with("LLM_BASE_URL", fake.openai_base_url())
            .with("LLM_API_KEY", API_KEY)
            .with("LLM_PRICE_INPUT_PER_MTOK_MICROS", "150000")
            .with("LLM_PRICE_OUTPUT_PER_MTOK_MICROS", "600000"),
    };
    for (k, v) in extra {
        cfg = cfg.with(k, *v);
    }
    ProviderConfig::load(&cfg).unwrap()
}

async fn fake(context_tokens: Option<usize>) -> FakeLlm {
    let mut cfg = FakeLlmConfig::default().with_api_key(API_KEY);
    cfg.context_tokens = context_tokens;
    start(cfg).await.unwrap()
}

async fn model(which: Which, fake: &FakeLlm, extra: &[(&str, &str)]) -> (Arc<dyn LanguageModel>, ProviderConfig) {
    let config = config(which, fake, extra);
    (build_model(&config, &sdk().await).await.unwrap(), config)
}

fn request(prompt: &str) -> CompletionRequest {
    CompletionRequest {
        system: "You are terse.".into(),
        prompt: prompt.into(),
        max_tokens: 200,
        temperature: 0.1,
        response_schema: None,
    }
}

const BOTH: [Which; 2] = [Which::Bedrock, Which::OpenAi];

#[tokio::test]
async fn completions_report_usage_and_cost() {
    for which in BOTH {
        let fake = fake(None).await;
        let (model, config) = model(which, &fake, &[]).await;
        let prompt = "Summarise the quarter. ".repeat(2_000);
        let req = request(&prompt);
        let c = complete_with_retry(model.as_ref(), &req, config.backoff())
            .await
            .unwrap();
        let expected_in = (req.system.chars().count() + prompt.chars().count()).div_ceil(4) as u32;
        assert_eq!(c.input_tokens, expected_in, "{which:?}");
        assert_eq!(c.output_tokens, c.content.chars().count().div_ceil(4) as u32);
        assert!(
            c.content.starts_with("This is a fake model's answer"),
            "{which:?}: {}",
            c.content
        );
        assert_eq!(
            c.cost,
            config.pricing().cost(c.input_tokens.into(), c.output_tokens.into())
        );
        assert!(c.cost > Money::ZERO);
        let seen = fake.stats.last_request().unwrap();
        assert_eq!(seen.system, req.system);
        assert_eq!(seen.prompt_chars, prompt.chars().count());
        assert_eq!(seen.max_tokens, Some(200));
        match which {
            Which::Bedrock => {
                assert_eq!(config.pricing(), Pricing::NOVA_LITE);
                assert_eq!(c.model.as_str(), "bedrock:amazon.nova-lite-v1:0");
                assert_eq!(fake.stats.calls_to(LlmRoute::BedrockConverse), 1);
                assert_eq!(fake.stats.calls_for_model("amazon.nova-lite-v1:0"), 1);
                assert_eq!(seen.auth, AuthSeen::SigV4);
            }
            Which::OpenAi => {
                assert_eq!(c.model.as_str(), "openai:llama3.1:8b");
                assert_eq!(fake.stats.calls_to(LlmRoute::OpenAiChat), 1);
                assert_eq!(fake.stats.calls_for_model("llama3.1:8b"), 1);
                // The key reached the server as a bearer token (the fake checks its value).
                assert_eq!(seen.auth, AuthSeen::Bearer);
                assert_eq!(fake.stats.bearer_requests(), 1);
                assert!(!seen.json_mode, "no schema, no JSON mode");
            }
        }
    }
}

#[tokio::test]
async fn throttling_twice_then_success_takes_three_calls() {
    for which in BOTH {
        let fake = fake(None).await;
        let (model, config) = model(which, &fake, &[]).await;
        fake.stats.throttle_next(2, Some(Duration::from_millis(10)));
        let one = model.complete(&request("Hi")).await.unwrap_err();
        assert!(matches!(one, ProviderError::Throttled { .. }), "{which:?}: {one:?}");
        if which == Which::OpenAi {
            assert_eq!(
                one.retry_after(),
                Some(Duration::from_millis(10)),
                "Retry-After is read"
            );
        }
        fake.stats.heal();
        fake.stats.reset();
        fake.stats.throttle_next(2, Some(Duration::from_millis(10)));
        let c = complete_with_retry(model.as_ref(), &request("Hi"), config.backoff())
            .await
            .unwrap();
        assert!(!c.content.is_empty());
        assert_eq!(fake.stats.calls(), 3, "{which:?}");
        assert_eq!(fake.stats.throttled(), 2);
        assert_eq!(fake.stats.answered(), 1);
    }
}

#[tokio::test]
async fn persistent_unavailability_gives_up_after_max_attempts() {
    for which in BOTH {
        for status in [503, 500] {
            let fake = fake(None).await;
            let (model, config) = model(which, &fake, &[("LLM_MAX_ATTEMPTS", "3")]).await;
            fake.stats.fail_always(status);
            let err = complete_with_retry(model.as_ref(), &request("Hi"), config.backoff())
                .await
                .unwrap_err();
            assert_eq!(err, ProviderError::Unavailable { status }, "{which:?}");
            assert!(err.is_retryable());
            assert_eq!(fake.stats.calls(), 3, "{which:?} {status}");
        }
    }
}

#[tokio::test]
async fn a_refused_request_is_not_retried() {
    for which in BOTH {
        let fake = fake(None).await;
        let (model, config) = model(which, &fake, &[]).await;
        fake.stats.script([Scripted::Status {
            status: 400,
            message: Some("Malformed input request: temperature must be between 0 and 1".into()),
        }]);
        let err = complete_with_retry(model.as_ref(), &request("Hi"), config.backoff())
            .await
            .unwrap_err();
        match &err {
            ProviderError::Refused { status, message } => {
                assert_eq!(*status, 400);
                assert!(message.contains("temperature must be"), "{message}");
            }
            other => panic!("{which:?}: {other:?}"),
        }
        assert!(!err.is_retryable());
        assert_eq!(fake.stats.calls(), 1, "{which:?}");
    }
}

#[tokio::test]
async fn input_beyond_the_context_is_context_too_long() {
    for which in BOTH {
        let fake = fake(Some(1_000)).await;
        let (model, config) = model(which, &fake, &[]).await;
        let err = complete_with_retry(model.as_ref(), &request(&"word ".repeat(2_000)), config.backoff())
            .await
            .unwrap_err();
        assert_eq!(err, ProviderError::ContextTooLong, "{which:?}");
        assert_eq!(fake.stats.calls(), 1);
    }
}

#[tokio::test]
async fn a_wrong_key_is_refused_without_echoing_it() {
    let fake = start(FakeLlmConfig::default().with_api_key("the-right-key"))
        .await
        .unwrap();
    let (model, config) = model(Which::OpenAi, &fake, &[]).await;
    let err = complete_with_retry(model.as_ref(), &request("Hi"), config.backoff())
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Refused { status: 401, .. }), "{err:?}");
    assert!(!err.to_string().contains(API_KEY));
    assert!(!format!("{config:?}").contains(API_KEY));
    assert_eq!(fake.stats.calls(), 1);
    assert_eq!(fake.stats.bearer_requests(), 1);
}

#[tokio::test]
async fn a_stalled_answer_times_out() {
    for which in BOTH {
        let fake = fake(None).await;
        let (model, config) = model(which, &fake, &[("LLM_TIMEOUT_SECS", "1"), ("LLM_MAX_ATTEMPTS", "1")]).await;
        fake.stats.script([Scripted::Stall(Duration::from_secs(3))]);
        let err = complete_with_retry(model.as_ref(), &request("Hi"), config.backoff())
            .await
            .unwrap_err();
        assert_eq!(err, ProviderError::Timeout, "{which:?}");
        assert!(err.is_retryable());
    }
}

fn paragraph(topic: &str, i: usize) -> String {
    format!(
        "In period {i}, {topic} net sales increased {p}% to ${i}.{d} billion compared to the prior period, driven by \
         higher demand for services and wearables. Management expects continued investment in research and \
         development. Competition and supply chain disruption could adversely affect gross margin, which was \
         4{d}.5 percent.",
        p = i % 9 + 1,
        d = i % 10,
    )
}

fn filing(long_mdna: bool) -> Vec<SectionInput> {
    let mdna_paragraphs = if long_mdna { 80 } else { 3 };
    vec![
        SectionInput {
            item: "1".into(),
            title: "Business".into(),
            text: "The Company designs, manufactures and markets smartphones, personal computers, tablets and \
                   wearables. It also sells services such as advertising, cloud storage and payments.\n\nThe \
                   Company's fiscal year ends in September."
                .into(),
        },
        SectionInput {
            item: "1A".into(),
            title: "Risk Factors".into(),
            text: "A cyber attack on our systems could materially adversely affect our business.\n\nChanges in \
                   interest rates and inflation may reduce consumer demand.\n\nWe are party to patent litigation \
                   that could result in substantial costs."
                .into(),
        },
        SectionInput {
            item: "7".into(),
            title: "Management's Discussion and Analysis".into(),
            text: (0..mdna_paragraphs)
                .map(|i| paragraph("the segment", i))
                .collect::<Vec<_>>()
                .join("\n\n")
                + "\n\nCash and cash equivalents were $29.9 billion and we believe liquidity is sufficient.",
        },
        SectionInput {
            item: "7A".into(),
            title: "Quantitative and Qualitative Disclosures About Market Risk".into(),
            text: "Foreign currency and interest rate changes may affect results.".into(),
        },
    ]
}

fn backoff(config: &ProviderConfig) -> sluice_core::retry::Backoff {
    config.backoff()
}

#[tokio::test]
async fn every_kind_is_analysed_in_one_call_when_it_fits() {
    for which in BOTH {
        let fake = fake(None).await;
        let (model, config) = model(which, &fake, &[]).await;
        for kind in AnalysisKind::ALL {
            fake.stats.reset();
            let out = analyse(
                model.as_ref(),
                kind,
                "Apple Inc.",
                FilingType::TenK,
                &filing(false),
                backoff(&config),
            )
            .await
            .unwrap();
            let body = AnalysisBody::from_value(kind, out.body.clone()).unwrap();
            let provenance = body.provenance().unwrap();
            assert!(!provenance.extractive && !out.extractive);
            assert_eq!(provenance.note, MODEL_NOTE);
            assert_eq!(provenance.chunks, 1);
            assert_eq!(provenance.model, config.model_key());
            assert_eq!(out.model, config.model_key());
            assert_eq!(out.model_calls, 1, "{which:?} {kind}");
            assert_eq!(fake.stats.calls(), 1);
            let seen = fake.stats.last_request().unwrap();
            assert_eq!(out.input_tokens, seen.input_tokens as u64);
            assert!(out.output_tokens > 0);
            assert_eq!(out.cost, config.pricing().cost(out.input_tokens, out.output_tokens));
            let expected_sections: Vec<String> = llm_analyzer::analysis::sections_for(kind, FilingType::TenK)
                .iter()
                .map(|s| s.to_string())
                .collect();
            assert_eq!(provenance.sections, expected_sections);
            assert!(seen.prompt.contains("Company: Apple Inc.") && seen.prompt.contains(prompt::SCHEMA_MARKER));
            if which == Which::OpenAi {
                assert!(seen.json_mode, "a schema asks for JSON mode");
            }
        }
    }
}

#[tokio::test]
async fn a_long_section_is_chunked_and_merged_within_the_context() {
    const CONTEXT: usize = 3_000;
    for which in BOTH {
        // The fake enforces the same window, so an overflow would fail the test.
        let fake = fake(Some(CONTEXT)).await;
        let (model, config) = model(which, &fake, &[("LLM_CONTEXT_TOKENS", "3000")]).await;
        for kind in [AnalysisKind::Mdna, AnalysisKind::Summary] {
            fake.stats.reset();
            let out = analyse(
                model.as_ref(),
                kind,
                "Apple Inc.",
                FilingType::TenK,
                &filing(true),
                backoff(&config),
            )
            .await
            .unwrap();
            let body = AnalysisBody::from_value(kind, out.body.clone()).unwrap();
            let chunks = body.provenance().unwrap().chunks as usize;
            assert!(chunks > 1, "{which:?} {kind}: {chunks}");
            let requests = fake.stats.requests();
            let merges = requests.iter().filter(|r| r.prompt.starts_with("Merge these")).count();
            assert!(merges >= 1, "{which:?} {kind}");
            assert_eq!(requests.len(), chunks + merges, "one call per chunk plus the merges");
            assert_eq!(out.model_calls as usize, requests.len());
            assert!(requests.iter().all(|r| r.status == 200));
            let max_answer = requests.iter().filter_map(|r| r.max_tokens).max().unwrap() as usize;
            assert!(fake.stats.max_input_tokens() + max_answer <= CONTEXT);
            assert_eq!(
                out.input_tokens,
                requests.iter().map(|r| r.input_tokens as u64).sum::<u64>()
            );
            // The last call is the final merge.
            assert!(requests.last().unwrap().prompt.starts_with("Merge these"));
        }
    }
}

#[tokio::test]
async fn an_invalid_answer_is_repaired_once() {
    for which in BOTH {
        let fake = fake(None).await;
        let (model, config) = model(which, &fake, &[]).await;
        fake.stats
            .answer_next("Sure! Here is the summary: {\"headline\": \"Apple did well\"");
        let out = analyse(
            model.as_ref(),
            AnalysisKind::Summary,
            "Apple Inc.",
            FilingType::TenK,
            &filing(false),
            backoff(&config),
        )
        .await
        .unwrap();
        AnalysisBody::from_value(AnalysisKind::Summary, out.body).unwrap();
        assert_eq!(out.model_calls, 2);
        let requests = fake.stats.requests();
        assert_eq!(requests.len(), 2);
        assert!(requests[1].prompt.starts_with("Your previous answer could not be used"));
        assert!(requests[1].prompt.contains("Apple did well"));
    }
}

#[tokio::test]
async fn two_invalid_answers_are_a_schema_mismatch() {
    for which in BOTH {
        let fake = fake(None).await;
        let (model, config) = model(which, &fake, &[]).await;
        fake.stats.answer_next("not json at all");
        fake.stats.answer_next(
            r#"{"overview":"o","risks":[{"title":"t","category":"weather","severity":"high","summary":"s"}]}"#,
        );
        let err = analyse(
            model.as_ref(),
            AnalysisKind::RiskFactors,
            "Apple Inc.",
            FilingType::TenK,
            &filing(false),
            backoff(&config),
        )
        .await
        .unwrap_err();
        match &err {
            AnalysisError::SchemaMismatch(reason) => assert!(reason.contains("weather"), "{reason}"),
            other => panic!("{which:?}: {other:?}"),
        }
        assert!(!err.is_retryable());
        assert_eq!(fake.stats.calls(), 2);
    }
}

#[tokio::test]
async fn throttling_inside_an_analysis_is_retried_and_not_counted_as_a_call() {
    let fake = fake(None).await;
    let (model, config) = model(Which::Bedrock, &fake, &[]).await;
    fake.stats.throttle_next(1, None);
    let out = analyse(
        model.as_ref(),
        AnalysisKind::Mdna,
        "Apple Inc.",
        FilingType::TenK,
        &filing(false),
        backoff(&config),
    )
    .await
    .unwrap();
    assert_eq!(out.model_calls, 1);
    assert_eq!(fake.stats.calls(), 2);
}

#[tokio::test]
async fn a_filing_without_the_sections_is_refused_before_any_call() {
    let fake = fake(None).await;
    let (model, config) = model(Which::Bedrock, &fake, &[]).await;
    let err = analyse(
        model.as_ref(),
        AnalysisKind::RiskFactors,
        "Apple Inc.",
        FilingType::TenQ,
        &filing(false),
        backoff(&config),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, AnalysisError::NoUsableSections(ref m) if m.contains("II-1A")),
        "{err:?}"
    );
    assert_eq!(fake.stats.calls(), 0);
}

#[tokio::test]
async fn the_extractive_analyser_needs_no_model_and_says_so() {
    let config = ProviderConfig::load(&ConfigSource::default()).unwrap();
    let model = build_model(&config, &sdk().await).await.unwrap();
    assert!(model.is_extractive());
    assert_eq!(model.model().as_str(), "extractive:v1");
    for kind in AnalysisKind::ALL {
        for long in [false, true] {
            let sections = filing(long);
            let out = analyse(
                model.as_ref(),
                kind,
                "Apple Inc.",
                FilingType::TenK,
                &sections,
                config.backoff(),
            )
            .await
            .unwrap();
            let body = AnalysisBody::from_value(kind, out.body.clone()).unwrap();
            let provenance = body.provenance().unwrap();
            assert!(provenance.extractive && out.extractive);
            assert_eq!(provenance.note, EXTRACTIVE_NOTE);
            assert_eq!(out.body["provenance"]["note"], EXTRACTIVE_NOTE);
            assert_eq!(
                (out.cost, out.input_tokens, out.output_tokens, out.model_calls),
                (Money::ZERO, 0, 0, 0)
            );
            let again = analyse(
                model.as_ref(),
                kind,
                "Apple Inc.",
                FilingType::TenK,
                &sections,
                config.backoff(),
            )
            .await
            .unwrap();
            assert_eq!(again.body, out.body, "deterministic");
        }
    }
}
