/**
 * Resources (docs/admin.md "Resources"): the organisation's rooms and equipment. Users book one by
 * adding its address to an event; the server accepts when it is free and the booking keeps its
 * rules (longest booking, how far ahead), and declines with the reason otherwise. Every change is
 * in the change history.
 */
import { useCallback, useEffect, useState } from 'react';
import { ApiClient } from '@sealmail/client';
import { adminResourceCreate, adminResourceDelete, adminResourceUpdate, resourceList, type ResourceView } from '@sealmail/contract';
import { problemText } from '../problem';
import './resources.css';

const api = new ApiClient({ baseUrl: '' });
const numberOrNull = (v: FormDataEntryValue | null) => (v === null || String(v).trim() === '' ? null : Number(v));
const textOrNull = (v: FormDataEntryValue | null) => (v === null || String(v).trim() === '' ? null : String(v).trim());
const rules = (r: ResourceView) =>
  [r.maxBookingMinutes !== null ? `at most ${r.maxBookingMinutes} min` : null, r.bookingHorizonDays !== null ? `up to ${r.bookingHorizonDays} days ahead` : null].filter(Boolean).join(', ') || 'none';

function Fields({ r }: { r?: ResourceView }) {
  return (
    <>
      <label>
        Name
        <input name="name" required maxLength={200} defaultValue={r?.name} />
      </label>
      <label>
        Capacity (people)
        <input name="capacity" type="number" min={1} max={100000} defaultValue={r?.capacity ?? ''} />
      </label>
      <label>
        Location
        <input name="location" maxLength={300} defaultValue={r?.location ?? ''} />
      </label>
      <label>
        Longest booking (minutes)
        <input name="maxBookingMinutes" type="number" min={5} max={44640} defaultValue={r?.maxBookingMinutes ?? ''} />
      </label>
      <label>
        Bookable how far ahead (days)
        <input name="bookingHorizonDays" type="number" min={1} max={3650} defaultValue={r?.bookingHorizonDays ?? ''} />
      </label>
    </>
  );
}

export function Resources() {
  const [list, setList] = useState<ResourceView[] | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  // A refused field is named by its label (problem.ts), never by the request's path.
  const failed = (err: unknown) => setProblem(problemText(err));
  const reload = useCallback(() => void api.request(resourceList, {}).then((r) => setList(r.resources), failed), []);
  useEffect(reload, [reload]);
  const fields = (f: FormData) => ({
    name: String(f.get('name')),
    capacity: numberOrNull(f.get('capacity')),
    location: textOrNull(f.get('location')),
    maxBookingMinutes: numberOrNull(f.get('maxBookingMinutes')),
    bookingHorizonDays: numberOrNull(f.get('bookingHorizonDays')),
  });

  async function create(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    setProblem(null);
    setNote(null);
    try {
      const r = await api.request(adminResourceCreate, { body: { address: String(f.get('address')), kind: String(f.get('kind')) === 'equipment' ? 'equipment' : 'room', ...fields(f) } });
      form.reset();
      setNote(`${r.name} (${r.address}) can be booked now.`);
      reload();
    } catch (err) {
      failed(err);
    }
  }
  async function save(id: string, e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setProblem(null);
    try {
      await api.request(adminResourceUpdate, { params: { id }, body: fields(new FormData(e.currentTarget)) });
      setEditing(null);
      reload();
    } catch (err) {
      failed(err);
    }
  }
  async function remove(r: ResourceView) {
    if (!window.confirm(`Delete ${r.name} (${r.address})? Its bookings are forgotten; events keep it as an attendee.`)) return;
    await api.request(adminResourceDelete, { params: { id: r.id } }).then(reload, failed);
  }

  return (
    <section aria-labelledby="resources-title">
      <h2 id="resources-title">Rooms and equipment</h2>
      <p>People book a room or equipment by adding it to an event. It accepts when it is free and the booking keeps its rules, and declines with the reason otherwise.</p>
      <div>
        <table className="resources">
          <thead>
            <tr>
              <th>Name</th>
              <th>Address</th>
              <th>Kind</th>
              <th>Capacity</th>
              <th>Location</th>
              <th>Rules</th>
              <th>
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list?.map((r) =>
              editing === r.id ? (
                <tr key={r.id}>
                  <td colSpan={7}>
                    <form aria-label={`Edit ${r.name}`} className="resource-form" onSubmit={(e) => void save(r.id, e)}>
                      <Fields r={r} />
                      <button type="submit">Save</button>
                      <button type="button" onClick={() => setEditing(null)}>
                        Cancel
                      </button>
                    </form>
                  </td>
                </tr>
              ) : (
                <tr key={r.id}>
                  <td>{r.name}</td>
                  <td data-label="Address">{r.address}</td>
                  <td data-label="Kind">{r.kind}</td>
                  <td data-label="Capacity">{r.capacity ?? '—'}</td>
                  <td data-label="Location">{r.location ?? '—'}</td>
                  <td data-label="Rules">{rules(r)}</td>
                  <td>
                    <button type="button" onClick={() => setEditing(r.id)} aria-label={`Edit ${r.name}`}>
                      Edit
                    </button>{' '}
                    <button type="button" onClick={() => void remove(r)} aria-label={`Delete ${r.name}`}>
                      Delete
                    </button>
                  </td>
                </tr>
              ),
            )}
          </tbody>
        </table>
      </div>
      {list?.length === 0 && <p>No rooms or equipment yet.</p>}
      <h3>Add a room or equipment</h3>
      <form aria-label="New room or equipment" className="resource-form" onSubmit={(e) => void create(e)}>
        <label>
          Address
          <input name="address" type="email" required placeholder="room-1@your-domain" />
        </label>
        <label>
          Kind
          <select name="kind" defaultValue="room">
            <option value="room">Room</option>
            <option value="equipment">Equipment</option>
          </select>
        </label>
        <Fields />
        <button type="submit">Add</button>
      </form>
      {problem && <p role="alert">{problem}</p>}
      {note && <p role="status">{note}</p>}
    </section>
  );
}
