/** A member of an appointment's crew, as the appointment page asks for it. */
export interface CrewMember {
  id: string;
  name: string;
}

/**
 * The names the appointment page lists under "Who comes": a crew job's members (lead first, as
 * the hub orders them), so the customer knows to expect several people and their equipment.
 * None for a job of one resource, whose crew is just that resource: nothing to add there.
 */
export function crewNames(crew: readonly CrewMember[] | null | undefined): string[] {
  return crew && crew.length > 1 ? crew.map((m) => m.name) : [];
}
