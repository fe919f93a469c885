package gwsync.interop;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

import de.captaingoldfish.scim.sdk.common.constants.enums.SortOrder;
import de.captaingoldfish.scim.sdk.common.exceptions.ConflictException;
import de.captaingoldfish.scim.sdk.common.exceptions.ResourceNotFoundException;
import de.captaingoldfish.scim.sdk.common.resources.Group;
import de.captaingoldfish.scim.sdk.common.resources.ResourceNode;
import de.captaingoldfish.scim.sdk.common.resources.User;
import de.captaingoldfish.scim.sdk.common.resources.complex.Meta;
import de.captaingoldfish.scim.sdk.common.utils.JsonHelper;
import de.captaingoldfish.scim.sdk.server.endpoints.Context;
import de.captaingoldfish.scim.sdk.server.endpoints.ResourceHandler;
import de.captaingoldfish.scim.sdk.server.filter.FilterNode;
import de.captaingoldfish.scim.sdk.server.response.PartialListResponse;
import de.captaingoldfish.scim.sdk.common.schemas.SchemaAttribute;


/**
 * In-memory ResourceHandlers written for the tests: a resource is kept whole, as the library validated
 * it (nothing dropped), and handed out as a copy. The library filters, sorts and pages the full list
 * (autoFiltering, autoSorting). The one rule of our own is the schema's: userName is unique ("uniqueness":
 * "server", "caseExact": false), so a taken userName is a 409.
 */
abstract class Store<T extends ResourceNode> extends ResourceHandler<T>
{

  private final Map<String, T> byId = new ConcurrentHashMap<>();

  private final Class<T> kind;

  Store(Class<T> kind)
  {
    this.kind = kind;
  }

  /** the value that must be unique among the resources, or empty */
  abstract Optional<String> uniqueKey(T resource);

  void wipe()
  {
    byId.clear();
  }

  private T copy(T resource)
  {
    return JsonHelper.copyResourceToObject(resource.deepCopy(), kind);
  }

  private void checkUnique(T resource, String id)
  {
    uniqueKey(resource).ifPresent(key -> {
      for ( T other : byId.values() )
      {
        if (!other.getId().orElse("").equals(id) && uniqueKey(other).equals(Optional.of(key)))
        {
          throw new ConflictException("the " + getType().getSimpleName() + " '" + key + "' already exists");
        }
      }
    });
  }

  /** meta as a stored resource has it: its resource type, created, and lastModified now */
  private void stamp(T resource, Instant created)
  {
    Meta meta = resource.getMeta().orElseGet(() -> {
      resource.setMeta(new Meta());
      return resource.getMeta().orElseThrow();
    });
    meta.setResourceType(getType().getSimpleName());
    meta.setCreated(created);
    meta.setLastModified(Instant.now());
  }

  @Override
  public synchronized T createResource(T resource, Context context)
  {
    checkUnique(resource, null);
    String id = UUID.randomUUID().toString();
    Instant now = Instant.now();
    resource.setId(id);
    stamp(resource, now);
    byId.put(id, copy(resource));
    return resource;
  }

  @Override
  public T getResource(String id,
                       List<SchemaAttribute> attributes,
                       List<SchemaAttribute> excludedAttributes,
                       Context context)
  {
    T resource = byId.get(id);
    return resource == null ? null : copy(resource);
  }

  @Override
  public PartialListResponse<T> listResources(long startIndex,
                                              int count,
                                              FilterNode filter,
                                              SchemaAttribute sortBy,
                                              SortOrder sortOrder,
                                              List<SchemaAttribute> attributes,
                                              List<SchemaAttribute> excludedAttributes,
                                              Context context)
  {
    List<T> all = new ArrayList<>();
    byId.values().forEach(resource -> all.add(copy(resource)));
    return PartialListResponse.<T> builder().resources(all).totalResults(all.size()).build();
  }

  @Override
  public synchronized T updateResource(T resource, Context context)
  {
    String id = resource.getId().orElseThrow();
    T old = byId.get(id);
    if (old == null)
    {
      throw new ResourceNotFoundException("no " + getType().getSimpleName() + " with id '" + id + "'");
    }
    checkUnique(resource, id);
    stamp(resource, old.getMeta().flatMap(Meta::getCreated).orElseThrow());
    byId.put(id, copy(resource));
    return resource;
  }

  @Override
  public synchronized void deleteResource(String id, Context context)
  {
    if (byId.remove(id) == null)
    {
      throw new ResourceNotFoundException("no " + getType().getSimpleName() + " with id '" + id + "'");
    }
  }

  static final class Users extends Store<User>
  {

    Users()
    {
      super(User.class);
    }

    @Override
    Optional<String> uniqueKey(User user)
    {
      return user.getUserName().map(String::toLowerCase);
    }
  }

  static final class Groups extends Store<Group>
  {

    Groups()
    {
      super(Group.class);
    }

    @Override
    Optional<String> uniqueKey(Group group)
    {
      return Optional.empty();
    }
  }
}
