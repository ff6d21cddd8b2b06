//! Exercises (演習): the list, scheduling one (admins), switching this
//! browser into one and out, the report, and the banner every screen in an
//! exercise carries. Every control here is a plain form: it works the same
//! without JavaScript, and switching reloads every screen with the layer.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use shared::api::ApiError;
use shared::auth::{Capability, PrincipalKind};
use shared::exercise::{Phase, Report, Step};

use crate::access::IfCan;
use crate::api::{exercise_context, exercise_report, list_exercises, ExerciseRow};
use crate::form::EchoData;
use crate::i18n::*;
use crate::util::{field_error_text, taipei, textarea_text};

/// The words of the banner: one text in both languages, whatever the
/// language switch says, so no screen in an exercise can be read as real.
pub const BANNER: &str = "演習 EXERCISE — not real";

fn phase_label(i18n: leptos_i18n::I18nContext<Locale>, p: Phase) -> &'static str {
    match p {
        Phase::Scheduled => t_string!(i18n, exercise_scheduled),
        Phase::Running => t_string!(i18n, exercise_running),
        Phase::Ended => t_string!(i18n, exercise_ended),
    }
}

/// On every screen in an exercise: what it is, and the way out. It has no
/// close control and stays at the top of the window (`position: sticky`).
#[component]
pub fn ExerciseBanner() -> impl IntoView {
    let i18n = use_i18n();
    let ctx = Resource::new(
        || (),
        |_| async move { exercise_context().await.ok().flatten() },
    );
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                ctx.await.map(|c| view! {
                    <div id="exercise-banner" class="exercise-banner" role="alert" data-exercise=c.id>
                        <strong>{BANNER}</strong>
                        <span>
                            <a href=format!("/exercises/{}", c.id)>{format!("#{} {}", c.id, c.name)}</a>
                            " · "{move || phase_label(i18n, c.phase)}
                        </span>
                        {(!c.bound).then(|| view! {
                            <form method="post" action="/exercises/leave">
                                <button type="submit" id="leave-exercise">{t!(i18n, exercise_leave)}</button>
                            </form>
                        })}
                    </div>
                })
            })}
        </Suspense>
    }
}

/// The join or leave control for one exercise (nothing for a kiosk, or
/// once it has ended and this screen is not in it).
fn switch_control(
    i18n: leptos_i18n::I18nContext<Locale>,
    id: i64,
    phase: Phase,
    current: Option<i64>,
) -> AnyView {
    if current == Some(id) {
        view! {
            <form method="post" action="/exercises/leave" class="inline">
                <button type="submit" class="leave">{t!(i18n, exercise_leave)}</button>
            </form>
        }
        .into_any()
    } else if phase != Phase::Ended {
        view! {
            <form method="post" action=format!("/exercises/{id}/join") class="inline">
                <button type="submit" class="join" data-join=id>{t!(i18n, exercise_join)}</button>
            </form>
        }
        .into_any()
    } else {
        ().into_any()
    }
}

#[component]
pub fn ExercisesPage() -> impl IntoView {
    let i18n = use_i18n();
    let me = crate::access::me();
    let rows = Resource::new(|| (), |_| list_exercises());
    let echo = crate::form::page_echo();
    view! {
        <section class="exercises">
            <h1>{t!(i18n, exercises_title)}</h1>
            <p class="note">{t!(i18n, exercises_intro)}</p>
            <EchoData echo=echo />
            <Suspense fallback=move || view! { <p>{t!(i18n, loading)}</p> }>
                {move || Suspend::new(async move {
                    let kiosk = me.await.is_none_or(|p| p.kind == PrincipalKind::Kiosk);
                    match rows.await {
                        Ok(p) if p.exercises.is_empty() => view! { <p id="no-exercises">{t!(i18n, no_exercises)}</p> }.into_any(),
                        Ok(p) => view! { <ExerciseTable rows=p.exercises current=p.current kiosk /> }.into_any(),
                        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
            <IfCan me cap=Capability::RunExercises>
                <h2>{t!(i18n, exercise_new)}</h2>
                <ExerciseEditor />
            </IfCan>
        </section>
    }
}

#[component]
fn ExerciseTable(rows: Vec<ExerciseRow>, current: Option<i64>, kiosk: bool) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <table id="exercise-list">
            <thead><tr>
                <th>{t!(i18n, col_seq)}</th><th>{t!(i18n, exercise_name)}</th>
                <th>{t!(i18n, exercise_starts)}</th><th>{t!(i18n, exercise_ends)}</th>
                <th>{t!(i18n, col_status)}</th><th>{t!(i18n, exercise_injects)}</th><th></th>
            </tr></thead>
            <tbody>
                {rows.into_iter().map(|r| {
                    let (id, phase) = (r.exercise.id, r.phase);
                    view! { <tr data-exercise=id data-phase=phase.as_str()>
                        <td>{id}</td>
                        <td><a href=format!("/exercises/{id}")>{r.exercise.name.clone()}</a></td>
                        <td>{taipei(&r.exercise.starts_at)}</td>
                        <td>{taipei(&r.exercise.ends_at)}</td>
                        <td>{move || phase_label(i18n, phase)}</td>
                        <td>{r.exercise.injects.len()}</td>
                        <td>{(!kiosk).then(|| switch_control(i18n, id, phase, current))}</td>
                    </tr> }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// The plain form that schedules an exercise; refused, it comes back with
/// what was typed and every error beside its field.
#[component]
fn ExerciseEditor() -> impl IntoView {
    let i18n = use_i18n();
    let echo = crate::form::form_echo("exercise", None);
    let typed = |k: &str| {
        echo.as_ref()
            .and_then(|e| e.values.get(k).and_then(|v| v.as_str()).map(str::to_string))
            .unwrap_or_default()
    };
    let (name, starts, ends, injects) = (
        typed("name"),
        typed("starts_at"),
        typed("ends_at"),
        typed("injects"),
    );
    let error: Option<ApiError> = echo.as_ref().map(|e| e.error.clone());
    let err_for = |field: &str| {
        error.as_ref().map(|e| {
            e.fields
                .iter()
                .filter(|f| f.field == field || f.field.starts_with(&format!("{field}[")))
                .map(|f| {
                    let text = field_error_text(i18n, &f.code, &f.message);
                    if f.field == field {
                        text
                    } else {
                        format!("{}: {text}", f.field)
                    }
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
    };
    let status = error.as_ref().map(|e| e.message.clone());
    view! {
        <form class="fault-form" id="exercise-form" method="post" action="/exercises" novalidate>
            <label>{t!(i18n, exercise_name)}
                <input type="text" name="name" value=name maxlength="120" />
                <span class="field-error" data-field="name">{err_for("name")}</span>
            </label>
            <label>{t!(i18n, exercise_starts)}
                <input type="datetime-local" name="starts_at" value=starts />
                <span class="field-error" data-field="starts_at">{err_for("starts_at")}</span>
            </label>
            <label>{t!(i18n, exercise_ends)}
                <input type="datetime-local" name="ends_at" value=ends />
                <span class="field-error" data-field="ends_at">{err_for("ends_at")}</span>
            </label>
            <label class="wide">{t!(i18n, exercise_script)}
                <textarea name="injects" rows="4" placeholder=r#"[{"at_minute": 10, "fault": {"cable": "TDM3", "kind": "cut", "place": "南竿", "km": "12"}}]"#>{textarea_text(&injects)}</textarea>
                <span class="field-error" data-field="injects">{err_for("injects")}</span>
            </label>
            <div class="actions">
                <button type="submit" id="save-exercise">{t!(i18n, exercise_schedule)}</button>
                <span id="exercise-status" role="status">
                    {status.map(|m| view! { <strong class="error">{m}</strong> })}
                </span>
            </div>
        </form>
    }
}

fn step_label(i18n: leptos_i18n::I18nContext<Locale>, s: Step) -> &'static str {
    match s {
        Step::Inject => t_string!(i18n, step_inject),
        Step::Alert => t_string!(i18n, step_alert),
        Step::Acknowledged => t_string!(i18n, step_acknowledged),
        Step::Fault => t_string!(i18n, step_fault),
        Step::Backup => t_string!(i18n, step_backup),
    }
}

fn seconds(s: Option<i64>) -> String {
    s.map(|s| format!("{}:{:02}", s / 60, s % 60))
        .unwrap_or_else(|| "—".into())
}

/// An exercise's page: what it is, the switch, and its report.
#[component]
pub fn ExerciseReportPage() -> impl IntoView {
    let i18n = use_i18n();
    let me = crate::access::me();
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|s| s.parse::<i64>().ok());
    let report = Resource::new(id, |id| async move {
        match id {
            Some(id) => exercise_report(id).await,
            None => Ok(Err(ApiError::not_found("no such exercise"))),
        }
    });
    let current = Resource::new(
        || (),
        |_| async move { exercise_context().await.ok().flatten().map(|c| c.id) },
    );
    view! {
        <section class="exercise-report">
            <Suspense fallback=move || view! { <p>{t!(i18n, loading)}</p> }>
                {move || Suspend::new(async move {
                    let kiosk = me.await.is_none_or(|p| p.kind == PrincipalKind::Kiosk);
                    let current = current.await;
                    match report.await {
                        Ok(Ok(r)) => view! { <ReportView r current kiosk /> }.into_any(),
                        Ok(Err(e)) => view! { <p class="error">{e.message}</p> }.into_any(),
                        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn ReportView(r: Report, current: Option<i64>, kiosk: bool) -> impl IntoView {
    let i18n = use_i18n();
    let ex = r.exercise.clone();
    let (id, phase) = (ex.id, r.phase);
    view! {
        <h1>{format!("{} #{} {}", t_string!(i18n, exercise_report_title), id, ex.name)}</h1>
        <p class="exercise-mark"><strong>{BANNER}</strong></p>
        <dl class="facts">
            <dt>{t!(i18n, col_status)}</dt><dd id="exercise-phase">{move || phase_label(i18n, phase)}</dd>
            <dt>{t!(i18n, exercise_starts)}</dt><dd>{taipei(&ex.starts_at)}</dd>
            <dt>{t!(i18n, exercise_ends)}</dt><dd>{taipei(&ex.ends_at)}</dd>
            <dt>{t!(i18n, exercise_injects)}</dt><dd id="injects-played">{format!("{} / {}", r.injects_played, ex.injects.len())}</dd>
            <dt>{t!(i18n, exercise_acked)}</dt><dd id="alerts-acked">{format!("{} / {}", r.acknowledged, r.alerts)}</dd>
            <dt>{t!(i18n, exercise_median_ack)}</dt><dd id="median-ack">{seconds(r.median_ack_seconds)}</dd>
            <dt>{t!(i18n, exercise_max_ack)}</dt><dd>{seconds(r.max_ack_seconds)}</dd>
            <dt>{t!(i18n, exercise_backups)}</dt><dd>{r.backups_recorded}</dd>
        </dl>
        <p class="actions">
            {(!kiosk).then(|| switch_control(i18n, id, phase, current))}
            <a href=format!("/api/v1/exercises/{id}/report.csv") download="">{t!(i18n, exercise_csv)}</a>
        </p>
        <h2>{t!(i18n, exercise_timeline)}</h2>
        {if r.lines.is_empty() {
            view! { <p id="no-timeline">{t!(i18n, exercise_no_timeline)}</p> }.into_any()
        } else {
            view! {
                <table id="exercise-timeline">
                    <thead><tr>
                        <th>{t!(i18n, exercise_at)}</th><th>"+min"</th><th>{t!(i18n, exercise_step)}</th>
                        <th>{t!(i18n, col_description)}</th><th>{t!(i18n, exercise_by)}</th>
                        <th>{t!(i18n, exercise_response)}</th>
                    </tr></thead>
                    <tbody>
                        {r.lines.into_iter().map(|l| {
                            let step = l.step;
                            view! { <tr data-step=step.as_str()>
                                <td>{taipei(&l.at)}</td><td>{l.minute}</td>
                                <td>{move || step_label(i18n, step)}</td>
                                <td class="text">{l.what}</td><td>{l.by}</td>
                                <td>{seconds(l.response_seconds)}</td>
                            </tr> }
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
    }
}
