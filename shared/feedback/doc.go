// Package feedback owns the relationship scores computed from survey answers and
// interactions: CSAT (1–5) and NPS (0–10) validation, the emotion account (+1 for a
// satisfied interaction, −3 for a dissatisfied one, on a 0–100 scale) and the
// relationship quality index RQI = trust 30% + satisfaction 30% + loyalty 40%. It also
// says when an answer is a complaint; opening the manager task is follow-up's job.
package feedback
