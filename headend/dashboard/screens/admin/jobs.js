/**
 * Background jobs: each queue's depth, when it last completed and last failed (with the job's own
 * words for why), and "run now". Job names are the code's (imbalance.recompute, …); each known one
 * is shown by what it does in the user's language.
 */
import { html, useCallback, useLoad, useAction } from '../../../web-shared/ui.js';
import { api } from '../../api.js';
import { t, tc } from '../../i18n.js';
import { Card, DataTable, ErrorNote, Loaded } from '../../ui/components.js';
import { AdminPage, when } from './common.js';

export const JOB_MESSAGES = {
  ru: {
    'admin.job.imbalance.recompute': 'Пересчёт небаланса дома',
    'admin.job.imbalance.recompute-all': 'Пересчёт небаланса всех домов',
    'admin.job.alerts.check': 'Проверка тревог',
    'admin.job.alerts.notify': 'Рассылка тревог',
    'admin.job.exchange.run': 'Обмен файлами с УО',
    'admin.job.billing.recalc': 'Перерасчёт начислений',
    'admin.job.notifications.digest': 'Сводка сотрудникам о переданных показаниях',
    'admin.job.notifications.reminders': 'Напоминания жильцам о передаче показаний',
    'admin.job.notifications.send': 'Отправка уведомлений',
  },
  en: {
    'admin.job.imbalance.recompute': 'Recompute a building\u2019s imbalance',
    'admin.job.imbalance.recompute-all': 'Recompute every building\u2019s imbalance',
    'admin.job.alerts.check': 'Check alerts',
    'admin.job.alerts.notify': 'Send alerts',
    'admin.job.exchange.run': 'File exchange with the managing organisation',
    'admin.job.billing.recalc': 'Recalculate charges',
    'admin.job.notifications.digest': 'Digest to staff of submitted readings',
    'admin.job.notifications.reminders': 'Reminders to residents to submit readings',
    'admin.job.notifications.send': 'Send notifications',
  },
};

export function JobsScreen({ me }) {
  const jobs = useLoad(() => api('/jobs'), []);
  const [run, running] = useAction(useCallback(async (name) => {
    const r = await api(`/jobs/${encodeURIComponent(name)}/run`, { method: 'POST', body: {} });
    jobs.reload();
    return { name, id: r.job_id };
  }, [jobs.reload]));
  const columns = [
    { key: 'name', label: t('admin.jobs.name'), render: (j) => tc('admin.job', j.name) },
    { key: 'state', label: t('admin.jobs.state'), render: (j) => (j.counts ? t('admin.jobs.counts', j.counts) : t('common.none')) },
    { key: 'completed', label: t('admin.jobs.completed'), num: true, render: (j) => j.counts?.completed ?? t('common.none') },
    { key: 'failed', label: t('admin.jobs.failed'), num: true, render: (j) => html`<span class=${j.counts?.failed ? 'error' : null}>${j.counts?.failed ?? t('common.none')}</span>` },
    { key: 'last_completed_at', label: t('admin.jobs.lastDone'), render: (j) => (j.last_completed_at ? when(j.last_completed_at) : t('admin.jobs.never')) },
    {
      key: 'last_failed_at', label: t('admin.jobs.lastFailed'), render: (j) => (j.last_failed_at
        ? html`${when(j.last_failed_at)}<div class="error detail" lang="en" data-testid=${`job-error-${j.name}`}>${j.last_error}</div>`
        : t('admin.jobs.never')),
    },
    {
      key: 'run', label: t('admin.jobs.run'), render: (j) => html`<button type="button" class="small" disabled=${running.busy}
        data-testid=${`job-run-${j.name}`} aria-label=${t('admin.jobs.runLabel', { name: tc('admin.job', j.name) })} onClick=${() => run(j.name)}>${t('admin.jobs.run')}</button>`,
    },
  ];
  return html`<${AdminPage} title=${t('admin.jobs')} testid="admin-jobs" me=${me}>
    <${Loaded} state=${jobs}>${(data) => html`
      ${data.redis_connected ? null : html`<p class="note error" role="alert" data-testid="jobs-no-redis">${t('admin.jobs.noRedis')}</p>`}
      <${Card}>
        <${DataTable} columns=${columns} rows=${data.jobs} rowKey=${(j) => j.name} testid="jobs-table" rowTestid=${(j) => `job-row-${j.name}`} empty=${t('admin.jobs.none')} caption=${t('admin.jobs')} />
      <//>
      ${running.result ? html`<p class="note ok" role="status" data-testid="job-queued">${t('admin.jobs.queued', { name: tc('admin.job', running.result.name), id: running.result.id })}</p>` : null}
      <${ErrorNote} error=${running.error} testid="job-error" />`}<//>
  <//>`;
}
